// Measures stream-probe's own overhead: runs the real probe N times against the local page that
// streams a canvas over WebRTC, and reports the time from page load to verdict (verdictMs), how much
// of it was not spent watching frames (verdictMs - PROBE_SECONDS), the connection time, and the wall
// time of the whole process (browser start and exit included).
// Run: npm run bench:probe [-- --runs 10 --seconds 3]
// Writes artifacts/bench/probe.md and artifacts/bench/probe.json.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../catalog";
import { startStreamPageServer } from "../tests/fixtures/stream-pages/server";

const PROBE = path.join(REPO_ROOT, "images/stream-probe/rootfs/opt/stream-probe/stream-probe.js");
const OUT_DIR = path.join(REPO_ROOT, "artifacts/bench");

interface Sample {
    verdictMs: number;
    overheadMs: number;
    connectMs: number;
    wallMs: number;
    fps: number;
}

function option(name: string, fallback: number): number {
    const at = process.argv.indexOf(`--${name}`);
    if (at < 0) return fallback;
    const value = Number(process.argv[at + 1]);
    if (!Number.isInteger(value) || value < 1) {
        console.error(`--${name} wants a whole number >= 1, got ${process.argv[at + 1]}`);
        process.exit(2);
    }
    return value;
}

async function runOnce(url: string, seconds: number, scratch: string): Promise<Sample> {
    const startedAt = Date.now();
    const child = spawn(process.execPath, [PROBE], {
        env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: scratch,
            TMPDIR: scratch,
            PROBE_URL: url,
            PROBE_SECONDS: String(seconds),
            PROBE_SCREENSHOT: path.join(scratch, "bench.png"),
            ...(process.env.PROBE_CHROMIUM ? { PROBE_CHROMIUM: process.env.PROBE_CHROMIUM } : {}),
        },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const wallMs = Date.now() - startedAt;
    const result = JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
    if (code !== 0 || result.verdict !== "pass") {
        throw new Error(`the probe did not pass on the streaming test page (exit ${code}):\n${stdout}\n${stderr}`);
    }
    return { verdictMs: result.verdictMs, overheadMs: result.verdictMs - seconds * 1000, connectMs: result.connectMs, wallMs, fps: result.fps };
}

function median(values: number[]): number {
    const s = [...values].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[mid] : Math.round((s[mid - 1] + s[mid]) / 2);
}

async function main(): Promise<void> {
    const runs = option("runs", 5);
    const seconds = option("seconds", 3);
    const server = await startStreamPageServer();
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "bench-probe-"));
    const samples: Sample[] = [];
    try {
        for (let i = 1; i <= runs; i++) {
            const sample = await runOnce(`${server.url}?codec=H264`, seconds, scratch);
            samples.push(sample);
            console.error(`run ${i}/${runs}: verdict after ${sample.verdictMs} ms, wall ${sample.wallMs} ms`);
        }
    } finally {
        await server.close();
        fs.rmSync(scratch, { recursive: true, force: true });
    }

    const rows: Array<[string, keyof Sample]> = [
        ["page load → verdict (verdictMs)", "verdictMs"],
        [`overhead: verdictMs − PROBE_SECONDS (${seconds} s)`, "overheadMs"],
        ["page load → ICE connected (connectMs)", "connectMs"],
        ["process start → exit (wall)", "wallMs"],
    ];
    const stats = Object.fromEntries(
        rows.map(([, key]) => {
            const values = samples.map((s) => s[key]);
            return [key, { min: Math.min(...values), median: median(values), max: Math.max(...values) }];
        }),
    );
    const table = [
        `stream-probe overhead: ${runs} runs, PROBE_SECONDS=${seconds}, a 640x360 H.264 canvas stream, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? "unknown CPU"}`,
        "",
        "| Measure | min (ms) | median (ms) | max (ms) |",
        "|---------|---------:|------------:|---------:|",
        ...rows.map(([label, key]) => `| ${label} | ${stats[key].min} | ${stats[key].median} | ${stats[key].max} |`),
        "",
        `Decoded frame rate: median ${median(samples.map((s) => s.fps))} fps.`,
    ].join("\n");
    console.log(table);
    fs.mkdirSync(OUT_DIR, { recursive: true });
    fs.writeFileSync(path.join(OUT_DIR, "probe.md"), `${table}\n`);
    fs.writeFileSync(
        path.join(OUT_DIR, "probe.json"),
        `${JSON.stringify({ runs, probeSeconds: seconds, cpus: os.cpus().length, node: process.version, stats, samples }, null, 2)}\n`,
    );
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
