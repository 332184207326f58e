#!/usr/bin/env node
import 'reflect-metadata';
import cluster from 'node:cluster';
import { runCli } from './cli';
import { runClusterWorker } from './cluster';

// A cluster worker is this same program, forked by the primary; it takes its configuration over IPC.
if (cluster.isWorker) void runClusterWorker();
else void runCli(process.argv);
