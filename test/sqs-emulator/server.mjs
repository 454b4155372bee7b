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
//
// fauxqs also ignores ListQueues pagination: MaxResults truncates the list and
// no NextToken is ever returned. Real SQS returns at most 1,000 URLs, and a
// NextToken when MaxResults is set and more queues match, so ListQueues is
// answered here the way SQS does (see paginateListQueues).
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
app.addHook("preHandler", paginateListQueues);
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

// paginateListQueues answers AmazonSQS.ListQueues like SQS: at most 1,000 URLs
// (MaxResults, 1..1000, when given), and a NextToken when MaxResults is set
// and more queues match. Queues are listed in URL order so a token (the last
// URL returned) stays valid when queues are created or deleted in between.
async function paginateListQueues(request, reply) {
  if (request.method !== "POST" || request.headers["x-amz-target"] !== "AmazonSQS.ListQueues") {
    return;
  }
  const body = request.body ?? {};
  const maxResults = body.MaxResults;
  if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 1000)) {
    return sqsError(reply, "InvalidParameterValue", `Value ${maxResults} for parameter MaxResults is invalid. Reason: must be between 1 and 1000.`);
  }
  let after = "";
  if (body.NextToken !== undefined) {
    after = Buffer.from(String(body.NextToken), "base64url").toString("utf8");
    if (after === "") {
      return sqsError(reply, "InvalidParameterValue", "Invalid NextToken value.");
    }
  }
  const prefix = body.QueueNamePrefix ?? "";
  const urls = sqsStore
    .listQueues()
    .filter((q) => q.name.startsWith(prefix))
    .map((q) => q.url)
    .sort()
    .filter((url) => url > after);
  const page = urls.slice(0, maxResults ?? 1000);
  const result = { QueueUrls: page };
  if (maxResults !== undefined && urls.length > page.length) {
    result.NextToken = Buffer.from(page[page.length - 1], "utf8").toString("base64url");
  }
  reply.header("content-type", "application/x-amz-json-1.0");
  return reply.send(result);
}

function sqsError(reply, code, message) {
  reply.status(400);
  reply.header("content-type", "application/x-amz-json-1.0");
  reply.header("x-amzn-query-error", `AWS.SimpleQueueService.${code};Sender`);
  return reply.send({ __type: `com.amazonaws.sqs#${code}`, message });
}
