#!/usr/bin/env node
// Entry point for both roles (`plexus broker …`, `plexus agent …`).
import '../agent/kube/client-node-slim.ts';
import '../certs/setup.ts';
import { runCli } from '../cli/program.ts';

process.exitCode = await runCli(process.argv);
