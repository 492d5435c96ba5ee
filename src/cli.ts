#!/usr/bin/env node
// `node src/cli.ts …` is `sesame …`: bin/sesame.js sets the process up, then loads src/Commands.ts.
import "../bin/sesame.js"
