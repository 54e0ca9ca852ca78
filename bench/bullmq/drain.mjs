// One BullMQ drain, the figure bench/bullmq.py compares with ours:
//   node drain.mjs REDIS_URL QUEUE JOBS CONCURRENCY [SLEEP_MS] [pause]
// Adds JOBS no-op jobs (addBulk, 2,000 at a time), then one Worker with CONCURRENCY takes them; prints JSON
// with the steady-state rate: first job's start to last job's end (the 'completed' event). With `pause` it
// prints {"filled": JOBS} once the jobs are in and starts the Worker on a line from stdin (bench/server_work.py
// reads the server's counters in between).
import { Queue, Worker } from "bullmq";

const [url, name, jobsArg, concArg, sleepArg, pauseArg] = process.argv.slice(2);
const total = Number(jobsArg), concurrency = Number(concArg), sleepMs = Number(sleepArg || 0);
const u = new URL(url);
const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };

const queue = new Queue(name, { connection });
await queue.obliterate({ force: true }).catch(() => {});
for (let i = 0; i < total; i += 2000) {
  const batch = [];
  for (let j = i; j < Math.min(total, i + 2000); j++) batch.push({ name: "noop", data: { n: j } });
  await queue.addBulk(batch);
}
if (pauseArg === "pause") {
  console.log(JSON.stringify({ filled: total }));
  await new Promise((resolve) => process.stdin.once("data", resolve));
}
let first = 0, last = 0, done = 0;
const finished = new Promise((resolve) => {
  const worker = new Worker(name, async () => {
    if (!first) first = performance.now();
    if (sleepMs) await new Promise((r) => setTimeout(r, sleepMs));
    return null;
  }, { connection, concurrency });
  worker.on("completed", () => {
    last = performance.now();
    if (++done === total) worker.close().then(resolve);
  });
});
await finished;
await queue.close();
const seconds = (last - first) / 1000;
console.log(JSON.stringify({ jobs: total, concurrency, seconds, rate: total / seconds }));
process.exit(0);
