// Starts fauxqs, an SQS-compatible server speaking the AWS JSON 1.0 protocol,
// on 127.0.0.1 only (its own CLI binds every interface).
//
// Usage: node server.mjs [--port N] [--region R]
// Prints one line "listening http://127.0.0.1:PORT" once it accepts requests;
// --port 0 (the default) picks a free port.
//
// fauxqs applies expired visibility timeouts and elapsed delays only when a
// queue is received from, so queue counts would go stale between receives.
// We own its store and run its timers every 100 ms so GetQueueAttributes
// reports what real SQS would.
import { parseArgs } from "node:util";
import { buildApp } from "fauxqs";
// The store class is not in the package exports, so it is imported by path.
import { SqsStore } from "./node_modules/fauxqs/dist/sqs/sqsStore.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    region: { type: "string", default: "us-east-1" },
  },
});

const port = Number.parseInt(values.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`sqs-emulator: --port must be 0..65535, got ${JSON.stringify(values.port)}`);
  process.exit(2);
}

const sqsStore = new SqsStore();
const app = buildApp({ logger: false, host: "127.0.0.1", defaultRegion: values.region, stores: { sqsStore } });
const address = await app.listen({ port, host: "127.0.0.1" });
const timers = setInterval(() => sqsStore.processAllTimers(), 100);
console.log(`listening ${address}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    clearInterval(timers);
    await app.close();
    process.exit(0);
  });
}
