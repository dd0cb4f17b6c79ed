/**
 * Syntax rules of the gate: constructs Espruino's parser does not support (destructuring, spread,
 * rest, default values, optional chaining, `**`, labels, tagged templates, generators, async,
 * BigInt, computed keys, for..of with destructuring) and calls with more arguments than it accepts.
 */
import { FUNCTION_TYPES, isNode, type AstNode, type Report } from './ast';
import { MAX_CALL_ARGS } from './lists';

/** Report `n` if its construct is outside Espruino's syntax. */
export function checkSyntax(n: AstNode, report: Report): void {
  switch (n.type) {
    case 'ObjectPattern':
    case 'ArrayPattern':
      report(n, 'destructuring', 'destructuring is not supported');
      break;
    case 'SpreadElement':
      report(n, 'spread', 'spread (...) is not supported');
      break;
    case 'RestElement':
      report(n, 'rest', 'rest elements/parameters (...) are not supported');
      break;
    case 'AssignmentPattern':
      report(n, 'default-parameter', 'default values (parameters or destructuring) are not supported');
      break;
    case 'ChainExpression':
      report(n, 'optional-chaining', 'optional chaining (?.) is not supported');
      break;
    case 'BinaryExpression':
    case 'AssignmentExpression':
      if (n.operator === '**' || n.operator === '**=')
        report(n, 'exponent', 'the ** operator is not supported');
      break;
    case 'LabeledStatement':
      report(n, 'labelled-statement', 'labelled statements (labelled break/continue) are not supported');
      break;
    case 'TaggedTemplateExpression':
      report(n, 'tagged-template', 'tagged templates are not supported');
      break;
    case 'YieldExpression':
      report(n, 'generator', 'yield (generators) is not supported');
      break;
    case 'AwaitExpression':
      report(n, 'async', 'await is not supported');
      break;
    case 'Literal':
      if (typeof n.bigint === 'string') report(n, 'bigint', 'BigInt literals are not supported');
      break;
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
      if (n.computed === true) report(n, 'computed-key', 'computed keys ({[k]: v}) are not supported');
      break;
    case 'CallExpression':
    case 'NewExpression':
      if ((n.arguments as unknown[]).length > MAX_CALL_ARGS) {
        report(n, 'too-many-arguments', 'more than ' + MAX_CALL_ARGS + ' arguments in one call');
      }
      break;
    case 'ForOfStatement':
      checkForOf(n, report);
      break;
    default:
      break;
  }
  if (FUNCTION_TYPES.indexOf(n.type) >= 0) {
    if (n.generator === true) report(n, 'generator', 'generator functions are not supported');
    if (n.async === true) report(n, 'async', 'async functions are not supported');
  }
}

function checkForOf(n: AstNode, report: Report): void {
  if (n.await === true) report(n, 'async', 'for await is not supported');
  if (isNode(n.left) && n.left.type === 'VariableDeclaration') {
    const d = (n.left.declarations as AstNode[])[0];
    if (d && isNode(d.id) && d.id.type !== 'Identifier') {
      report(n, 'for-of-destructuring', 'for..of with destructuring is not supported');
    }
  } else if (isNode(n.left) && n.left.type !== 'Identifier' && n.left.type !== 'MemberExpression') {
    report(n, 'for-of-destructuring', 'for..of with destructuring is not supported');
  }
}
