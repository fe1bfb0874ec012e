#!/usr/bin/env node
// The `kt` command (cli/kt.ts), run through tsx so that the TypeScript sources need no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/kt.ts');
