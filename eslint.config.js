import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tsbuild/**', '.cache/**', '.tmp/**', 'firmware/dist/**', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The shared wire code compiles into the firmware: no Node, no Buffer.
    files: ['protocol/src/**/*.ts', 'firmware/src/**/*.ts', 'firmware/boards/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        'Buffer',
        'process',
        'require',
        'Map',
        'Set',
        'WeakMap',
        'Symbol',
        'Proxy',
        'Reflect',
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'SpreadElement', message: 'Espruino has no spread.' },
        { selector: 'ObjectPattern', message: 'Espruino has no destructuring.' },
        { selector: 'ArrayPattern', message: 'Espruino has no destructuring.' },
        { selector: 'AssignmentPattern', message: 'Espruino has no default parameters.' },
        { selector: 'ChainExpression', message: 'Espruino has no optional chaining.' },
        { selector: "BinaryExpression[operator='**']", message: 'Espruino has no **.' },
      ],
    },
  },
);
