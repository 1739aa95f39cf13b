import { strict as assert } from "assert";
import { createHash } from "crypto";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    changesFromEvents,
    formatBytes,
    formatDuration,
    imagesFromExport,
    parseEventLog,
    phaseSeconds,
    probeResultFromLog,
    renderSummary,
    screenshotFromLog,
} from "../../scripts/e2e-report";
import { ROOT } from "../harness";
import { PROBE_LOG_PNG, eventLine, probeLog } from "./e2eFixtures";

const VERDICT = { verdict: "pass", reason: null, detail: "598 frames decoded in 20 s at 29.9 fps, 1280x720 video/H264", framesDecoded: 598, fps: 29.9, width: 1280, height: 720, roundTripTimeMs: 1.2, codec: "video/H264", connectMs: 640, verdictMs: 20810, screenshot: "/tmp/stream-probe.png" };

describe("scripts/e2e-report.ts", () => {
    describe("the probe's log (kubectl logs of the probe pod)", () => {
        it("finds the verdict line after the progress lines and the screenshot block", () => {
            assert.deepEqual(probeResultFromLog(probeLog(VERDICT)), VERDICT);
        });

        it("finds no verdict in the log of a probe that was killed before it", () => {
            assert.equal(probeResultFromLog("stream-probe: checking http://session:8080/\n{not json\n"), undefined);
        });

        it("decodes the screenshot and checks its length and SHA-256", () => {
            const png = screenshotFromLog(probeLog(VERDICT));
            assert.ok(png?.equals(PROBE_LOG_PNG));
        });

        it("says so when the screenshot in the log is damaged (a line lost)", () => {
            const damaged = probeLog(VERDICT)
                .split("\n")
                .filter((line, i, all) => !(line.startsWith("stream-probe-screenshot ") && all[i - 1]?.startsWith("stream-probe-screenshot-begin")))
                .join("\n");
            assert.throws(() => screenshotFromLog(damaged), /screenshot in the probe's log is damaged/);
        });

        it("has no screenshot when the probe was not asked to print it", () => {
            assert.equal(screenshotFromLog(`stream-probe: PASS\n${JSON.stringify(VERDICT)}\n`), undefined);
        });
    });

    describe("Pulumi's event log", () => {
        const firstUp = [
            eventLine(100, "pre", "create", "docker:index/image:Image", "chrome-selkies"),
            eventLine(100, "pre", "create", "docker:index/image:Image", "stream-probe"),
            eventLine(400, "outputs", "create", "docker:index/image:Image", "stream-probe"),
            eventLine(1300, "outputs", "create", "docker:index/image:Image", "chrome-selkies"),
            eventLine(1300, "pre", "create", "kubernetes:core/v1:Namespace", "session-test-namespace"),
            eventLine(1301, "outputs", "create", "kubernetes:core/v1:Namespace", "session-test-namespace"),
            eventLine(1301, "pre", "create", "kubernetes:apps/v1:Deployment", "session-test-session"),
            eventLine(1420, "outputs", "create", "kubernetes:apps/v1:Deployment", "session-test-session"),
            eventLine(1420, "pre", "create", "kubernetes:batch/v1:Job", "session-test-probe"),
            eventLine(1475, "outputs", "create", "kubernetes:batch/v1:Job", "session-test-probe"),
            "{\"sequence\": 99, \"timest", // cut short by a killed update
        ].join("\n");

        it("times the builds, the deploy and the probe of an update", () => {
            assert.deepEqual(phaseSeconds(parseEventLog(firstUp)), { builds: 1200, deploy: 120, probe: 55 });
        });

        it("times a failed step up to its failure", () => {
            const failed = [eventLine(10, "pre", "create", "kubernetes:batch/v1:Job", "session-test-probe"), eventLine(70, "failed", "create", "kubernetes:batch/v1:Job", "session-test-probe")].join("\n");
            assert.deepEqual(phaseSeconds(parseEventLog(failed)), { probe: 60 });
        });

        it("counts the update's step of a resource, not the preview's before it", () => {
            const withPreview = [eventLine(5, "pre", "create", "kubernetes:batch/v1:Job", "p", true), eventLine(5, "outputs", "create", "kubernetes:batch/v1:Job", "p", true), eventLine(50, "pre", "create", "kubernetes:batch/v1:Job", "p"), eventLine(80, "outputs", "create", "kubernetes:batch/v1:Job", "p")].join("\n");
            assert.deepEqual(phaseSeconds(parseEventLog(withPreview)), { probe: 30 });
        });

        it("lists what an update changed, and nothing for one that changed nothing", () => {
            const noop = [eventLine(1, "pre", "same", "docker:index/image:Image", "chrome-selkies"), eventLine(2, "pre", "same", "kubernetes:batch/v1:Job", "session-test-probe")].join("\n");
            assert.deepEqual(changesFromEvents(parseEventLog(noop)), []);
            const changed = [noop, eventLine(3, "pre", "update", "kubernetes:apps/v1:Deployment", "session-test-session"), eventLine(4, "pre", "replace", "kubernetes:batch/v1:Job", "session-test-probe")].join("\n");
            assert.deepEqual(changesFromEvents(parseEventLog(changed)), ["update kubernetes:apps/v1:Deployment session-test-session", "replace kubernetes:batch/v1:Job session-test-probe"]);
        });
    });

    it("reads the images from a stack export, also one an update left halfway", () => {
        const exported = {
            deployment: {
                resources: [
                    { type: "pulumi:pulumi:Stack", outputs: {} },
                    { type: "docker:index/image:Image", outputs: { imageName: "localhost:5001/streamspace-dev/stream-probe:dev", repoDigest: `localhost:5001/streamspace-dev/stream-probe@sha256:${"a".repeat(64)}` } },
                    { type: "docker:index/image:Image", outputs: { imageName: "localhost:5001/streamspace-dev/chrome-selkies:dev", repoDigest: `localhost:5001/streamspace-dev/chrome-selkies@sha256:${"b".repeat(64)}` } },
                    // Registered but never built: no outputs yet.
                    { type: "docker:index/image:Image" },
                ],
            },
        };
        assert.deepEqual(
            imagesFromExport(exported).map((i) => i.name),
            ["chrome-selkies", "stream-probe"],
        );
    });

    it("formats times and sizes for people", () => {
        assert.equal(formatDuration(42), "42 s");
        assert.equal(formatDuration(62), "1 min 02 s");
        assert.equal(formatDuration(3725), "1 h 02 min 05 s");
        assert.equal(formatBytes(1_402_000_000), "1.40 GB");
        assert.equal(formatBytes(245_300_000), "245.3 MB");
        assert.equal(formatBytes(undefined), "unknown");
    });

    describe("the summary", () => {
        const input = {
            outcome: "passed",
            phases: [
                ["cluster (kind and the local registry)", 62],
                ["deploy command (./scripts/deploy-dev.sh)", 1500],
                ["deploy command again (must change nothing)", 70],
            ] as Array<[string, number]>,
            updatePhases: { builds: 1200, deploy: 120, probe: 55 },
            probe: VERDICT as any,
            screenshot: "stream-probe.png",
            images: [{ name: "chrome-selkies", imageName: "localhost:5001/streamspace-dev/chrome-selkies:dev", repoDigest: `localhost:5001/streamspace-dev/chrome-selkies@sha256:${"b".repeat(64)}`, sizeBytes: 1_402_000_000 }],
        };

        it("shows the time of each phase, the probe's fps, resolution and codec, and every image with size and digest", () => {
            const md = renderSummary(input);
            assert.match(md, /^## End to end: dev stack on kind passed$/m);
            assert.match(md, /^\| cluster \(kind and the local registry\) \| 1 min 02 s \|$/m);
            assert.match(md, /^\| &nbsp;&nbsp;builds .* \| 20 min 00 s \|$/m);
            assert.match(md, /^\| &nbsp;&nbsp;deploy .* \| 2 min 00 s \|$/m);
            assert.match(md, /^\| &nbsp;&nbsp;probe .* \| 55 s \|$/m);
            assert.match(md, /^\| pass \| 29\.9 \| 1280x720 \| video\/H264 \| 598 \| 640 ms \| 1\.2 ms \|$/m);
            assert.match(md, new RegExp(`^\\| chrome-selkies \\| 1\\.40 GB \\| \`sha256:${"b".repeat(64)}\` \\|$`, "m"));
            assert.match(md, /stream-probe\.png/);
        });

        it("leads with the reason of a failure, and says when the probe left no verdict", () => {
            const md = renderSummary({ ...input, outcome: "failed: the deploy command failed", probe: undefined, screenshot: undefined, images: [] });
            assert.match(md, /^## End to end: dev stack on kind FAILED$/m);
            assert.match(md, /^\*\*failed: the deploy command failed\*\*$/m);
            assert.match(md, /No verdict/);
            assert.match(md, /No screenshot/);
        });
    });

    it("as a command: writes the probe's result and screenshot from a pod log, and refuses a log without a verdict", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-report-"));
        try {
            fs.writeFileSync(path.join(dir, "probe.log"), probeLog(VERDICT));
            const report = (...args: string[]) => spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts/e2e-report.ts"), ...args], { cwd: ROOT, encoding: "utf8" });
            const r = report("probe", path.join(dir, "probe.log"), dir);
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stdout, /^probe: pass, 29\.9 fps, 1280x720 video\/H264; screenshot/);
            assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "probe-result.json"), "utf8")), VERDICT);
            assert.equal(createHash("sha256").update(fs.readFileSync(path.join(dir, "stream-probe.png"))).digest("hex"), createHash("sha256").update(PROBE_LOG_PNG).digest("hex"));

            fs.writeFileSync(path.join(dir, "killed.log"), "stream-probe: launching /usr/bin/chromium\n");
            const killed = report("probe", path.join(dir, "killed.log"), dir);
            assert.equal(killed.status, 1);
            assert.match(killed.stderr, /no verdict line in .*killed\.log/);
            assert.equal(report("nonsense").status, 2);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
