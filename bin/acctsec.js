#!/usr/bin/env node
// Launcher: Node's compile cache (Node >= 22.1) makes repeated start-ups cheaper; Node 20 simply lacks it.
import module from 'node:module';
module.enableCompileCache?.();
await import('../dist/main.js');
