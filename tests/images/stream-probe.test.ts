import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../catalog";
import { screenshotFromLog } from "../../scripts/e2e-report";
import { strictJsProblems } from "../checkJs";
import { StreamPageServer, startStreamPageServer } from "../fixtures/stream-pages/server";

// The real probe script, run as the image runs it, against Debian's Chromium and local test pages.
const PROBE_DIR = path.join(REPO_ROOT, "images/stream-probe/rootfs/opt/stream-probe");
const PROBE = path.join(PROBE_DIR, "stream-probe.js");
const CHROMIUM = process.env.PROBE_CHROMIUM ?? "/usr/bin/chromium";
const PASSWORD = "correct-horse-battery";

interface ProbeRun {
    code: number | null;
    stdout: string;
    stderr: string;
    result: Record<string, unknown>;
    wallMs: number;
}

/** The probe's temporary folder (browser profile, heartbeat): a fresh one per test file. */
let scratch = os.tmpdir();

function runProbe(env: Record<string, string>): Promise<ProbeRun> {
    const startedAt = Date.now();
    // Only the variables given: PROBE_* settings of the calling shell must not leak in.
    const child = spawn(process.execPath, [PROBE], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, TMPDIR: scratch, PROBE_CHROMIUM: CHROMIUM, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code) => {
            const lines = stdout.split("\n").filter((l) => l !== "");
            assert.equal(lines.length, 1, `expected exactly one line on stdout, got:\n${stdout}\nstderr:\n${stderr}`);
            resolve({ code, stdout, stderr, result: JSON.parse(lines[0]), wallMs: Date.now() - startedAt });
        });
    });
}

function explain(run: ProbeRun): string {
    return `exit ${run.code}\nstdout: ${run.stdout}\nstderr:\n${run.stderr}`;
}

function assertPng(file: unknown): void {
    assert.equal(typeof file, "string", "no screenshot path reported");
    const bytes = fs.readFileSync(file as string);
    assert.ok(bytes.length > 1000, `screenshot ${file} is nearly empty`);
    assert.equal(bytes.subarray(1, 4).toString("ascii"), "PNG", `${file} is not a PNG`);
}

async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

describe("stream-probe image: the probe", function () {
    this.timeout(45000);
    let open: StreamPageServer;
    let guarded: StreamPageServer;
    let tmp: string;

    before(async function () {
        if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does)`);
        open = await startStreamPageServer();
        guarded = await startStreamPageServer({ basicAuth: { user: "user", password: PASSWORD } });
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stream-probe-test-"));
        scratch = tmp;
    });

    after(async () => {
        await open?.close();
        await guarded?.close();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("passes on a page streaming a 640x360 canvas over WebRTC and reports fps, resolution, codec, RTT and a screenshot", async () => {
        const screenshot = path.join(tmp, "pass.png");
        const run = await runProbe({
            PROBE_URL: `${open.url}?codec=H264`,
            PROBE_SECONDS: "3",
            PROBE_EXPECT_WIDTH: "640",
            PROBE_EXPECT_HEIGHT: "360",
            PROBE_SCREENSHOT: screenshot,
        });
        const r = run.result;
        assert.equal(run.code, 0, explain(run));
        assert.equal(r.verdict, "pass");
        assert.equal(r.reason, null);
        assert.equal(r.width, 640);
        assert.equal(r.height, 360);
        assert.equal(r.codec, "video/H264");
        assert.ok((r.fps as number) >= 5, `fps ${r.fps} is below the default minimum`);
        assert.ok((r.framesDecoded as number) >= 15, `only ${r.framesDecoded} frames in 3 s`);
        assert.equal(typeof r.roundTripTimeMs, "number");
        assert.ok((r.connectMs as number) >= 0 && (r.connectMs as number) <= (r.verdictMs as number), explain(run));
        assert.ok((r.verdictMs as number) >= 3000, "the verdict came before the frames were watched for PROBE_SECONDS");
        assert.equal(r.screenshot, screenshot);
        assertPng(r.screenshot);
        assert.equal(r.transport, "webrtc");
        assert.ok((r.colours as number) >= 4, `only ${r.colours} colours counted in an animated picture`);
        assert.match(run.stderr, /connected over WebRTC after \d+ ms/);
        assert.doesNotMatch(run.stderr, /stream-probe-screenshot/, "the screenshot was printed although PROBE_SCREENSHOT_LOG is unset");
        // The image's HEALTHCHECK reads this file's age.
        const heartbeat = fs.statSync(path.join(tmp, "stream-probe.heartbeat"));
        assert.ok(Date.now() - heartbeat.mtimeMs < 10000, "the heartbeat was not touched while probing");
    });

    it("passes on a page that decodes its stream with WebCodecs (Selkies' WebSockets client), ignoring a one-frame capability test", async () => {
        const run = await runProbe({
            PROBE_URL: `${open.url}webcodecs.html`,
            PROBE_SECONDS: "3",
            PROBE_EXPECT_WIDTH: "640",
            PROBE_EXPECT_HEIGHT: "360",
            PROBE_SCREENSHOT: path.join(tmp, "webcodecs.png"),
        });
        const r = run.result;
        assert.equal(run.code, 0, explain(run));
        assert.equal(r.transport, "websockets");
        assert.equal(r.codec, "video/VP8");
        assert.equal(r.width, 640);
        assert.equal(r.height, 360);
        assert.ok((r.framesDecoded as number) >= 15, `only ${r.framesDecoded} frames in 3 s`);
        assert.ok((r.colours as number) >= 4, `only ${r.colours} colours counted in an animated picture`);
        assert.equal(r.roundTripTimeMs, null);
        assert.match(run.stderr, /connected over WebSockets after \d+ ms/);
        assert.match(r.detail as string, /over websockets, \d+ colours/);
        assertPng(r.screenshot);
    });

    it("passes on a page whose stream a worker draws on its canvas in stripes (Selkies' JPEG encoder), counting the pictures shown", async () => {
        const run = await runProbe({
            PROBE_URL: `${open.url}stripes.html`,
            PROBE_SECONDS: "3",
            PROBE_EXPECT_WIDTH: "640",
            PROBE_EXPECT_HEIGHT: "360",
            PROBE_SCREENSHOT: path.join(tmp, "stripes.png"),
        });
        const r = run.result;
        assert.equal(run.code, 0, explain(run));
        assert.equal(r.transport, "websockets");
        assert.equal(r.codec, null, "no code on the page decodes, so no codec is known");
        assert.equal(r.width, 640);
        assert.equal(r.height, 360);
        assert.ok((r.framesDecoded as number) >= 15, `only ${r.framesDecoded} frames in 3 s`);
        assert.ok((r.colours as number) >= 4, `only ${r.colours} colours counted in an animated picture`);
        assert.match(r.detail as string, /^\d+ frames shown on the page's canvas in [\d.]+ s at [\d.]+ fps, 640x360 over websockets, \d+ colours$/);
        assertPng(r.screenshot);
    });

    it("counts the canvas that shows the stream, not a still one of the same size before it", async () => {
        const run = await runProbe({
            PROBE_URL: `${open.url}stripes.html?decoy=1`,
            PROBE_SECONDS: "3",
            PROBE_EXPECT_WIDTH: "640",
            PROBE_EXPECT_HEIGHT: "360",
            PROBE_SCREENSHOT: path.join(tmp, "stripes-decoy.png"),
        });
        assert.equal(run.code, 0, explain(run));
        assert.ok((run.result.framesDecoded as number) >= 15, `only ${run.result.framesDecoded} frames in 3 s`);
    });

    it("fails with frozen-frames on a canvas that shows one picture and never changes (a desktop where nothing moves)", async () => {
        const run = await runProbe({ PROBE_URL: `${open.url}stripes.html?still=1`, PROBE_SECONDS: "3", PROBE_SCREENSHOT: path.join(tmp, "still.png") });
        assert.equal(run.code, 1, explain(run));
        assert.equal(run.result.reason, "frozen-frames", explain(run));
        assert.equal(run.result.framesDecoded, 0, "the one picture shown is not a frame of the window");
    });

    it("fails with blank-picture when the canvas changes but shows one flat colour", async () => {
        const run = await runProbe({ PROBE_URL: `${open.url}stripes.html?blank=1`, PROBE_SECONDS: "2", PROBE_SCREENSHOT: path.join(tmp, "stripes-blank.png") });
        assert.equal(run.code, 1, explain(run));
        assert.equal(run.result.reason, "blank-picture", explain(run));
        assert.ok((run.result.framesDecoded as number) > 0, "a blank picture still changes");
    });

    it("fails with blank-picture when the decoded frames advance but show one flat colour", async () => {
        const run = await runProbe({ PROBE_URL: `${open.url}webcodecs.html?blank=1`, PROBE_SECONDS: "2", PROBE_SCREENSHOT: path.join(tmp, "blank.png") });
        assert.equal(run.code, 1, explain(run));
        assert.equal(run.result.reason, "blank-picture", explain(run));
        assert.ok((run.result.framesDecoded as number) > 0, "a blank picture still streams frames");
        assert.match(run.result.detail as string, /PROBE_MIN_COLOURS=4/);
        const off = await runProbe({ PROBE_URL: `${open.url}webcodecs.html?blank=1`, PROBE_SECONDS: "2", PROBE_MIN_COLOURS: "0", PROBE_SCREENSHOT: path.join(tmp, "blank-ok.png") });
        assert.equal(off.code, 0, `PROBE_MIN_COLOURS=0 turns the check off: ${explain(off)}`);
    });

    it("with PROBE_SCREENSHOT_LOG=true prints the screenshot on stderr, in lines short enough for container logs, that decode to the same PNG", async () => {
        const screenshot = path.join(tmp, "logged.png");
        const run = await runProbe({ PROBE_URL: open.url, PROBE_SECONDS: "2", PROBE_SCREENSHOT: screenshot, PROBE_SCREENSHOT_LOG: "true" });
        assert.equal(run.code, 0, explain(run));
        assertPng(run.result.screenshot);
        // As `kubectl logs` gives it: both streams in one, the verdict line last.
        const logged = screenshotFromLog(`${run.stderr}${run.stdout}`);
        assert.ok(logged, `no screenshot block on stderr:\n${run.stderr.slice(0, 2000)}`);
        assert.ok(logged.equals(fs.readFileSync(screenshot)), "the PNG in the log differs from the file");
        for (const line of run.stderr.split("\n")) assert.ok(line.length <= 4096 + "stream-probe-screenshot ".length, `a log line of ${line.length} characters`);
        assert.equal(run.stdout.trim().split("\n").length, 1, "the screenshot leaked onto stdout");
    });

    it("fails with frozen-frames when the picture stops changing", async () => {
        const run = await runProbe({ PROBE_URL: `${open.url}?freezeAfterMs=1000`, PROBE_SECONDS: "3", PROBE_SCREENSHOT: path.join(tmp, "frozen.png") });
        assert.equal(run.code, 1, explain(run));
        assert.equal(run.result.reason, "frozen-frames", explain(run));
        assert.ok((run.result.framesDecoded as number) > 0, "frames that never started are not frozen frames");
        assertPng(run.result.screenshot);
    });

    it("fails with low-fps when frames advance slower than PROBE_MIN_FPS", async () => {
        const run = await runProbe({ PROBE_URL: `${open.url}?fps=2`, PROBE_SECONDS: "3", PROBE_MIN_FPS: "10", PROBE_SCREENSHOT: path.join(tmp, "slow.png") });
        assert.equal(run.code, 1, explain(run));
        assert.equal(run.result.reason, "low-fps", explain(run));
        assert.ok((run.result.fps as number) > 0 && (run.result.fps as number) < 10, explain(run));
        assert.match(run.result.detail as string, /PROBE_MIN_FPS=10/);
    });

    it("fails with no-ice-connection within PROBE_TIMEOUT_SECONDS when ICE never completes", async () => {
        const run = await runProbe({ PROBE_URL: `${open.url}?connect=never`, PROBE_TIMEOUT_SECONDS: "3", PROBE_SCREENSHOT: path.join(tmp, "noice.png") });
        assert.equal(run.code, 1, explain(run));
        assert.equal(run.result.reason, "no-ice-connection", explain(run));
        assert.equal(run.result.connectMs, null);
        assert.ok(run.wallMs < 20000, `took ${run.wallMs} ms to give up after a 3 s deadline`);
        assertPng(run.result.screenshot);
    });

    it("fails with wrong-resolution when the stream is not PROBE_EXPECT_WIDTH x PROBE_EXPECT_HEIGHT", async () => {
        const run = await runProbe({
            PROBE_URL: open.url,
            PROBE_SECONDS: "2",
            PROBE_EXPECT_WIDTH: "1280",
            PROBE_EXPECT_HEIGHT: "720",
            PROBE_SCREENSHOT: path.join(tmp, "res.png"),
        });
        assert.equal(run.code, 1, explain(run));
        assert.equal(run.result.reason, "wrong-resolution", explain(run));
        assert.equal(run.result.width, 640);
        assert.equal(run.result.height, 360);
        assert.match(run.result.detail as string, /640x360.*1280x720/);
    });

    it("fails with unauthorized on a 401, without credentials or with a wrong password, and never prints the password", async () => {
        const none = await runProbe({ PROBE_URL: guarded.url, PROBE_SECONDS: "2" });
        assert.equal(none.code, 1, explain(none));
        assert.equal(none.result.reason, "unauthorized", explain(none));
        const wrongPassword = "not-the-password";
        const wrong = await runProbe({ PROBE_URL: guarded.url, PROBE_SECONDS: "2", PROBE_PASSWORD: wrongPassword });
        assert.equal(wrong.code, 1, explain(wrong));
        assert.equal(wrong.result.reason, "unauthorized", explain(wrong));
        assert.ok(!wrong.stdout.includes(wrongPassword) && !wrong.stderr.includes(wrongPassword), "the password was printed");
    });

    it("passes behind basic auth with the password from PROBE_PASSWORD_FILE, which it never prints", async () => {
        const secret = path.join(tmp, "password");
        fs.writeFileSync(secret, `${PASSWORD}\n`, { mode: 0o600 });
        const run = await runProbe({ PROBE_URL: guarded.url, PROBE_SECONDS: "2", PROBE_PASSWORD_FILE: secret, PROBE_SCREENSHOT: path.join(tmp, "auth.png") });
        assert.equal(run.code, 0, explain(run));
        assert.equal(run.result.verdict, "pass");
        assert.ok(!run.stdout.includes(PASSWORD) && !run.stderr.includes(PASSWORD), "the password was printed");
    });

    it("fails with unreachable when nothing listens at PROBE_URL", async () => {
        const port = await freePort();
        const run = await runProbe({ PROBE_URL: `http://127.0.0.1:${port}/`, PROBE_TIMEOUT_SECONDS: "2" });
        assert.equal(run.code, 1, explain(run));
        assert.equal(run.result.reason, "unreachable", explain(run));
        assert.match(run.result.detail as string, /ECONNREFUSED/);
        assert.equal(run.result.screenshot, null);
    });

    describe("bad configuration: exit 2 naming the variable, before any browser starts", () => {
        let fakeChromium: string;
        let launched: string;

        before(() => {
            // A stand-in browser that leaves a mark if anything launches it.
            launched = path.join(tmp, "chromium-was-launched");
            fakeChromium = path.join(tmp, "fake-chromium");
            fs.writeFileSync(fakeChromium, `#!/bin/sh\ntouch '${launched}'\nexit 1\n`, { mode: 0o755 });
        });

        const cases: Array<[string, Record<string, string>, string]> = [
            ["PROBE_URL unset", {}, "PROBE_URL"],
            ["PROBE_URL not http(s)", { PROBE_URL: "ftp://session:8080/" }, "PROBE_URL"],
            ["PROBE_URL not a URL", { PROBE_URL: "session:8080" }, "PROBE_URL"],
            ["PROBE_URL with credentials", { PROBE_URL: "http://user:secret@session:8080/" }, "PROBE_URL"],
            ["PROBE_SECONDS not a number", { PROBE_SECONDS: "ten" }, "PROBE_SECONDS"],
            ["PROBE_SECONDS negative", { PROBE_SECONDS: "-3" }, "PROBE_SECONDS"],
            ["PROBE_MIN_FPS negative", { PROBE_MIN_FPS: "-1" }, "PROBE_MIN_FPS"],
            ["PROBE_TIMEOUT_SECONDS zero", { PROBE_TIMEOUT_SECONDS: "0" }, "PROBE_TIMEOUT_SECONDS"],
            ["PROBE_EXPECT_WIDTH fractional", { PROBE_EXPECT_WIDTH: "640.5", PROBE_EXPECT_HEIGHT: "360" }, "PROBE_EXPECT_WIDTH"],
            ["PROBE_EXPECT_HEIGHT without width", { PROBE_EXPECT_HEIGHT: "360" }, "PROBE_EXPECT_WIDTH"],
            ["PROBE_PASSWORD_FILE unreadable", { PROBE_PASSWORD_FILE: "/nonexistent/password" }, "PROBE_PASSWORD_FILE"],
            ["both password variables", { PROBE_PASSWORD: "a", PROBE_PASSWORD_FILE: "/nonexistent/password" }, "PROBE_PASSWORD_FILE"],
            ["PROBE_CHROMIUM missing", { PROBE_CHROMIUM: "/nonexistent/chromium" }, "PROBE_CHROMIUM"],
            ["PROBE_SCREENSHOT_LOG neither true nor false", { PROBE_SCREENSHOT_LOG: "yes" }, "PROBE_SCREENSHOT_LOG"],
            ["PROBE_TREAT_AS_SECURE neither true nor false", { PROBE_TREAT_AS_SECURE: "1" }, "PROBE_TREAT_AS_SECURE"],
            ["PROBE_MIN_COLOURS fractional", { PROBE_MIN_COLOURS: "2.5" }, "PROBE_MIN_COLOURS"],
        ];
        for (const [name, env, variable] of cases) {
            it(name, async () => {
                const base: Record<string, string> = name.startsWith("PROBE_URL") ? {} : { PROBE_URL: open.url };
                const run = await runProbe({ PROBE_CHROMIUM: fakeChromium, ...base, ...env });
                assert.equal(run.code, 2, explain(run));
                assert.equal(run.result.verdict, "fail");
                assert.equal(run.result.reason, "bad-config");
                assert.ok((run.result.detail as string).includes(variable), `the error does not name ${variable}: ${run.result.detail}`);
                assert.ok(run.stderr.includes(variable), "the error is not on stderr");
                assert.ok(!run.stdout.includes("secret"), "the password in the URL was printed");
                assert.ok(!fs.existsSync(launched), "a browser was launched despite the bad configuration");
            });
        }
    });
});

describe("stream-probe image: its files", () => {
    it("the probe script type-checks as strict JavaScript (it ships without a build step)", () => {
        assert.deepEqual(strictJsProblems(PROBE), []);
    });

    it("pins playwright-core exactly, and the lockfile agrees, so npm ci in the image build succeeds", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(PROBE_DIR, "package.json"), "utf8"));
        const lock = JSON.parse(fs.readFileSync(path.join(PROBE_DIR, "package-lock.json"), "utf8"));
        const version = pkg.dependencies["playwright-core"];
        assert.match(version, /^\d+\.\d+\.\d+$/, "playwright-core is not pinned to one version");
        assert.deepEqual(lock.packages[""].dependencies, pkg.dependencies);
        assert.equal(lock.packages["node_modules/playwright-core"].version, version);
        assert.match(lock.packages["node_modules/playwright-core"].integrity, /^sha512-/);
    });
});
