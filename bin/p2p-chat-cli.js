#!/usr/bin/env node
import { main } from '../build/cli/chat-cli.js';

await main();
