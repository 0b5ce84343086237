// `npm start`: builds dist/ and runs the service in this very process. The
// npm script `exec`s it, so the signals npm forwards (SIGINT, SIGTERM) reach
// the service, which drains and stops; nothing is left running without a parent.
import cluster from "node:cluster";
import { buildService } from "./build.js";

// Workers (WORKERS > 1) run this file again; the primary built already.
if (cluster.isPrimary) await buildService();
await import("../dist/main.js");
