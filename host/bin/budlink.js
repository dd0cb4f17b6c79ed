#!/usr/bin/env node
// budlink CLI shim: runs the TypeScript sources through tsx (no build step).
/* global process */
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv.slice(2));
