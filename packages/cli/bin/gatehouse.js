#!/usr/bin/env node
// Committed launcher: npm links it as `gatehouse` even before the TypeScript build has run, and
// git keeps its executable bit. The program itself is compiled to dist/.
import '../dist/bin.js';
