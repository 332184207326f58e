#!/usr/bin/env node
import 'reflect-metadata';
import { runCli } from './cli/cli';

void runCli(process.argv);
