/** scripts/bench-stream.ts: the arithmetic and the report of the streaming benchmark (its real runs happen in the test command's bench-stream stage). */
import { strict as assert } from "assert";
import * as path from "path";
import { RunFigures, checkTargets, formatProfiles, formatTable, median, percentile, profileBetween } from "../../scripts/bench-stream";
import { strictJsProblems } from "../checkJs";
import { ROOT } from "../harness";

const run = (over: Partial<RunFigures>): RunFigures => ({ resolution: "1280x720", transport: "websockets", motion: "low", firstFrameSeconds: [4.2, 3.9, 4.8], ...over });

describe("scripts/bench-stream.ts", () => {
    it("takes percentiles by rank and the median of the boots", () => {
        const values = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
        assert.equal(percentile(values, 50), 50);
        assert.equal(percentile(values, 95), 100);
        assert.equal(percentile([], 50), undefined);
        assert.equal(median([4.2, 3.9, 4.8]), 4.2);
    });

    it("judges every target, Selkies beside noVNC at the same size, and reports misses as such", () => {
        const lines = checkTargets([
            run({ fps: 58, latencyP50Ms: 40, latencyP95Ms: 70, cpuCores: 0.4 }),
            run({ transport: "webrtc", firstFrameSeconds: [6.1], fps: 20, latencyP50Ms: 120, latencyP95Ms: 250, cpuCores: 0.6 }),
            run({ transport: "novnc", fps: 25, cpuCores: 0.5 }),
        ]);
        assert.ok(lines.includes("met: 1280x720 low motion websockets first frame 4.2 s (target ≤ 5 s)"), lines.join("\n"));
        assert.ok(lines.includes("met: 1280x720 low motion websockets 58 fps (target ≥ 30)"));
        assert.ok(lines.includes("met: 1280x720 low motion websockets 2.3× noVNC's fps at 0.4 vs 0.5 cores (target ≥ 2× at equal or lower CPU)"));
        assert.ok(lines.includes("missed: 1280x720 low motion webrtc first frame 6.1 s (target ≤ 5 s)"));
        assert.ok(lines.includes("missed: 1280x720 low motion webrtc 20 fps (target ≥ 30)"));
        assert.ok(lines.includes("missed: 1280x720 low motion webrtc latency 120 / 250 ms (target ≤ 100 / 200 ms)"));
        assert.ok(lines.includes("missed: 1280x720 low motion webrtc 0.8× noVNC's fps at 0.6 vs 0.5 cores (target ≥ 2× at equal or lower CPU)"));
        assert.ok(!lines.some((l) => l.includes("novnc first frame")), "noVNC is the comparison, not judged itself");
    });

    it("compares Selkies with noVNC only for the same kind of motion", () => {
        const lines = checkTargets([
            run({ motion: "full", fps: 40, cpuCores: 0.9 }),
            run({ transport: "novnc", motion: "low", fps: 35, cpuCores: 0.4 }),
            run({ transport: "novnc", motion: "full", fps: 8, cpuCores: 1.2 }),
        ]);
        assert.ok(lines.includes("met: 1280x720 full motion websockets 5.0× noVNC's fps at 0.9 vs 1.2 cores (target ≥ 2× at equal or lower CPU)"), lines.join("\n"));
        assert.ok(!lines.some((l) => /full motion websockets 1\.1×/.test(l)), "compared with the low-motion noVNC run");
    });

    it("prints one table row per run, with its error when it has one", () => {
        const table = formatTable([run({ fps: 58, latencyP50Ms: 40, latencyP95Ms: 70, cpuCores: 0.4, bytesPerSecond: 52000 }), run({ transport: "novnc", firstFrameSeconds: [], error: "client: no clock row" })]);
        const rows = table.split("\n");
        assert.equal(rows.length, 4);
        assert.equal(rows[2], "| 1280x720 | low | websockets | 4.2 s (3 boots) | 58 | 40 ms / 70 ms | 0.4 cores | 52 kB/s |");
        assert.equal(rows[3], "| 1280x720 | low | novnc | — | — | — / — | — | — | error: client: no clock row");
    });

    it("says where the session's CPU went: cores per process over the window, busiest first, idle ones left out", () => {
        const a = { at: 0, ticks: new Map([["selkies", 1000], ["chromium", 500], ["Xvfb", 100], ["nginx", 7]]) };
        const b = { at: 10_000, ticks: new Map([["selkies", 1850], ["chromium", 1100], ["Xvfb", 300], ["nginx", 8], ["sh", 40]]) };
        const profile = profileBetween(a, b);
        assert.deepEqual(profile, [
            { process: "selkies", cores: 0.85 },
            { process: "chromium", cores: 0.6 },
            { process: "Xvfb", cores: 0.2 },
            { process: "sh", cores: 0.04 },
        ]);
        assert.deepEqual(formatProfiles([run({ resolution: "1920x1080", motion: "full", profile }), run({ transport: "novnc" })]), [
            "- 1920x1080 full motion websockets: selkies 0.85, chromium 0.6, Xvfb 0.2, sh 0.04",
        ]);
        assert.deepEqual(profileBetween(a, { ...b, at: 0 }), []);
    });

    it("its client, which runs in the stream-probe image without a build step, type-checks as strict JavaScript", () => {
        assert.deepEqual(strictJsProblems(path.join(ROOT, "scripts/bench/stream-client.js")), []);
    });
});
