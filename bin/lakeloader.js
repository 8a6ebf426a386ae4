#!/usr/bin/env node
// The `lakeloader` bin entry: registers tsx's CommonJS loader, then runs the TypeScript CLI.
'use strict';
require('tsx/cjs');
require('./lakeloader.ts');
