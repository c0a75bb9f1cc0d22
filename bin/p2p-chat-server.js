#!/usr/bin/env node
import { main } from '../build/server/cli.js';

await main();
