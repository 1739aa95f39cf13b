import { strict as assert } from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { one, runProgram, stackConfig } from "../harness";
import { ROOT } from "../harness";
import { WORK_FILES } from "../../scripts/e2e-report";
import { PROBE_LOG_PNG, eventLine, probeLog } from "./e2eFixtures";
import { callsIn, checkoutWithOwnCopies, fakeTools, run as runIn, start as startIn, RunOptions } from "./fakeCommands";

const SCRIPT = "e2e.sh";
// The script runs from a checkout of links with its own Pulumi.dev.yaml, which it must put back.
let checkout = ROOT;
let STACK_FILE = path.join(ROOT, "Pulumi.dev.yaml");
const run = (script: string, dir: string, options: RunOptions = {}) => runIn(script, dir, { root: checkout, ...options });
const start = (script: string, dir: string, options: RunOptions = {}) => startIn(script, dir, { root: checkout, ...options });
const PASS = { verdict: "pass", reason: null, detail: "598 frames decoded in 20 s at 29.9 fps, 1280x720 video/H264", framesDecoded: 598, fps: 29.9, width: 1280, height: 720, roundTripTimeMs: 1.2, codec: "video/H264", connectMs: 640, verdictMs: 20810, screenshot: "/tmp/stream-probe.png" };
const LOW_FPS = { ...PASS, verdict: "fail", reason: "low-fps", detail: "4.1 fps over 20 s, below PROBE_MIN_FPS=10", fps: 4.1 };
const IMAGES = ["chrome-selkies", "stream-probe"];

/**
 * Fake docker, kind, kubectl, npm and pulumi that keep what they "made" as files in dir (cluster,
 * registry, stack), so that a test sees what a run leaves behind. Knobs, as files in dir:
 * first-exit / second-exit (status of the first and second `pulumi up`), second-events.jsonl,
 * probe.log (what `kubectl logs` answers), up-sleep (seconds the first `pulumi up` takes).
 */
function fakeWorld(dir: string): void {
    const d = JSON.stringify(dir);
    fakeTools(dir, {
        npm: "exit 0",
        docker: `case "$1" in
  info) exit 0;;
  inspect) [ -e ${d}/registry ] || exit 1
    case "$3" in *Running*) echo true;; *Networks*) echo '{"IPAddress":"172.18.0.3"}';; esac;;
  run) touch ${d}/registry;;
  rm) rm -f ${d}/registry;;
  exec) cat >/dev/null;;
  image) [ "$2" = inspect ] && echo 1402000000;;
esac
exit 0`,
        kind: `case "$1" in
  get) [ "$2" = clusters ] && [ -e ${d}/cluster ] && echo streamspace; [ "$2" = nodes ] && echo streamspace-control-plane;;
  create) touch ${d}/cluster;;
  delete) rm -f ${d}/cluster;;
esac
exit 0`,
        kubectl: `[ "$1" = --context ] && shift 2
case "$1" in
  apply) cat >/dev/null;;
  get) [ -e ${d}/probe-ran ] && printf 'streamspace-session-test stream-probe-0a1b2c3d4e-first\\nstreamspace-session-test stream-probe-0a1b2c3d4e-last\\n';;
  logs) [ "$4" = stream-probe-0a1b2c3d4e-last ] && cat ${d}/probe.log;;
esac
exit 0`,
        pulumi: `events=""; previous=""
for a in "$@"; do [ "$previous" = --event-log ] && events=$a; previous=$a; done
case "$1 $2" in
  "whoami "*) exit 1;;
  "stack select") if [ "$4" = --create ]; then touch ${d}/stack; echo "$PULUMI_BACKEND_URL" > ${d}/backend; echo "encryptionsalt: v1:test-double" >> Pulumi.dev.yaml; fi
    [ -e ${d}/stack ] || exit 255;;
  "stack export") cp ${d}/export.json "$6";;
  "up "*) if [[ " $* " == *" --expect-no-changes "* ]]; then cp ${d}/second-events.jsonl "$events"; exit "$(cat ${d}/second-exit)"; fi
    touch ${d}/up-started; sleep "$(cat ${d}/up-sleep 2>/dev/null || echo 0)"
    cp ${d}/first-events.jsonl "$events"; touch ${d}/probe-ran; exit "$(cat ${d}/first-exit)";;
  "destroy "*) rm -f ${d}/stack;;
esac
exit 0`,
    });
    const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
    write("first-exit", "0");
    write("second-exit", "0");
    write("probe.log", probeLog(PASS));
    write(
        "first-events.jsonl",
        [
            eventLine(100, "pre", "create", "docker:index/image:Image", "chrome-selkies"),
            eventLine(1300, "outputs", "create", "docker:index/image:Image", "chrome-selkies"),
            eventLine(1300, "pre", "create", "kubernetes:apps/v1:Deployment", "session-test-session"),
            eventLine(1420, "outputs", "create", "kubernetes:apps/v1:Deployment", "session-test-session"),
            eventLine(1420, "pre", "create", "kubernetes:batch/v1:Job", "session-test-probe"),
            eventLine(1475, "outputs", "create", "kubernetes:batch/v1:Job", "session-test-probe"),
        ].join("\n"),
    );
    write("second-events.jsonl", eventLine(1, "pre", "same", "kubernetes:batch/v1:Job", "session-test-probe"));
    write(
        "export.json",
        JSON.stringify({
            deployment: {
                resources: IMAGES.map((name) => ({
                    type: "docker:index/image:Image",
                    outputs: { imageName: `localhost:5001/streamspace-dev/${name}:dev`, repoDigest: `localhost:5001/streamspace-dev/${name}@sha256:${"c".repeat(64)}` },
                })),
            },
        }),
    );
}

describe("scripts/e2e.sh (with test doubles for docker, kind, kubectl, npm and pulumi)", function () {
    this.timeout(60000);
    let dir: string;
    let stackFile: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-"));
        checkout = checkoutWithOwnCopies(dir, ["Pulumi.dev.yaml"]);
        STACK_FILE = path.join(checkout, "Pulumi.dev.yaml");
        stackFile = fs.readFileSync(STACK_FILE, "utf8");
    });
    afterEach(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });
    const opts = (env: Record<string, string> = {}) => ({ env, args: ["--artifacts", path.join(dir, "artifacts")], realTools: { node: process.execPath } });
    const artifact = (name: string) => path.join(dir, "artifacts", name);
    const leftBehind = () => ["cluster", "registry", "stack"].filter((f) => fs.existsSync(path.join(dir, f)));

    describe("preflight: stops at once, names the problem, makes and removes nothing", () => {
        it("names every missing tool (docker, pulumi, kind)", () => {
            fakeTools(dir, { npm: "exit 0", kubectl: "exit 0" });
            const r = run(SCRIPT, dir, opts());
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stdout, /^e2e: missing prerequisites:$/m);
            assert.match(r.stdout, /^ {2}- pulumi \(https:\/\/www\.pulumi\.com\/docs\/install\/\)$/m);
            assert.match(r.stdout, /^ {2}- docker \(https:\/\/docs\.docker\.com\/engine\/install\/\)$/m);
            assert.match(r.stdout, /^ {2}- kind \(/m);
            assert.doesNotMatch(r.stdout, /- (node|npm|kubectl) /);
            assert.deepEqual(r.calls, [], "a tool ran although prerequisites were missing");
            assert.ok(!fs.existsSync(artifact("")), "the artifacts folder was made");
        });

        it("refuses to start next to an existing cluster of the same name, and leaves it alone", () => {
            fakeWorld(dir);
            fs.writeFileSync(path.join(dir, "cluster"), "");
            const r = run(SCRIPT, dir, opts());
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stdout, /a kind cluster named 'streamspace' already exists/);
            assert.match(r.stdout, /kind delete cluster --name streamspace/);
            assert.ok(fs.existsSync(path.join(dir, "cluster")), "the existing cluster was deleted");
            assert.ok(!r.calls.some((c) => /^kind (create|delete)|^docker (run|rm)|^pulumi /.test(c)), r.calls.join("\n"));
        });

        it("refuses to start next to an existing registry container", () => {
            fakeWorld(dir);
            fs.writeFileSync(path.join(dir, "registry"), "");
            const r = run(SCRIPT, dir, opts());
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stdout, /a container named 'kind-registry' already exists/);
            assert.match(r.stdout, /docker rm -f kind-registry/);
            assert.ok(fs.existsSync(path.join(dir, "registry")), "the existing registry was removed");
            assert.ok(!r.calls.some((c) => /^kind create|^docker (run|rm)|^pulumi /.test(c)), r.calls.join("\n"));
        });

        it("refuses to start when something listens on the registry port 5001", async () => {
            fakeWorld(dir);
            // A real listener on the port; if another program already holds it, the port is occupied all the same.
            const server = net.createServer();
            await new Promise<void>((resolve) => {
                server.once("error", () => resolve());
                server.listen(5001, "127.0.0.1", () => resolve());
            });
            try {
                const r = run(SCRIPT, dir, opts());
                assert.equal(r.status, 1, r.stdout + r.stderr);
                assert.match(r.stdout, /the registry port 5001 is in use: something listens on 127\.0\.0\.1:5001/);
                assert.ok(!r.calls.some((c) => /^kind create|^docker run|^pulumi /.test(c)), r.calls.join("\n"));
            } finally {
                server.close();
            }
        });

        it("explains its usage, and refuses an unknown argument", () => {
            const help = run(SCRIPT, dir, { args: ["--help"] });
            assert.equal(help.status, 0);
            assert.match(help.stdout, /^Usage: scripts\/e2e\.sh \[--artifacts DIR\]/);
            const unknown = run(SCRIPT, dir, { args: ["--keep"] });
            assert.equal(unknown.status, 2);
            assert.match(unknown.stdout, /unknown argument '--keep'/);
        });
    });

    it("passes: the README's deploy command twice (the second changing nothing), the probe's result and screenshot kept, everything removed", () => {
        fakeWorld(dir);
        const summaryFile = path.join(dir, "step-summary.md");
        const r = run(SCRIPT, dir, opts({ GITHUB_STEP_SUMMARY: summaryFile }));
        assert.equal(r.status, 0, r.stdout + r.stderr);
        const calls = r.calls;
        const at = (pattern: RegExp) => calls.findIndex((c) => pattern.test(c));
        // The README's command, as a user runs it, then again with the no-op check.
        const ups = calls.filter((c) => c.startsWith("pulumi up"));
        assert.equal(ups.length, 2, calls.join("\n"));
        assert.match(ups[0], /^pulumi up --stack dev --yes --policy-pack \S+\/policy --policy-pack-config \S+ --event-log \S+\/up\.events\.jsonl$/);
        assert.match(ups[1], /^pulumi up --stack dev --yes --policy-pack \S+\/policy --policy-pack-config \S+ --expect-no-changes --event-log \S+\/second-up\.events\.jsonl$/);
        assert.equal(calls.filter((c) => c === "npm ci --no-audit --no-fund --loglevel=error").length, 2, "deploy-dev.sh did not run twice");
        assert.ok(at(/^kind create cluster --name streamspace /) < at(/^pulumi up/));
        // The state lived in a backend of this run only, which is gone.
        const backend = fs.readFileSync(path.join(dir, "backend"), "utf8").trim();
        assert.match(backend, /^file:\/\//);
        assert.ok(!fs.existsSync(backend.replace("file://", "")), `the run's state ${backend} was left behind`);
        // Teardown, in order: the stack, then the cluster and the registry, then the images.
        assert.ok(at(/^pulumi destroy --stack dev --yes/) > at(/^pulumi up .*--expect-no-changes/));
        assert.ok(at(/^kind delete cluster --name streamspace$/) > at(/^pulumi destroy/));
        assert.ok(at(/^docker rm -f kind-registry$/) > 0);
        for (const image of IMAGES) assert.ok(calls.includes(`docker image rm localhost:5001/streamspace-dev/${image}:dev`), `${image} was not removed`);
        assert.deepEqual(leftBehind(), []);
        assert.equal(fs.readFileSync(STACK_FILE, "utf8"), stackFile, "Pulumi.dev.yaml was not put back");
        // What a reviewer reads, here and in the step summary.
        const summary = fs.readFileSync(artifact("summary.md"), "utf8");
        assert.ok(r.stdout.includes(summary), "the summary is not printed");
        assert.equal(fs.readFileSync(summaryFile, "utf8"), summary);
        assert.match(summary, /^## End to end: dev stack on kind passed$/m);
        assert.match(summary, /^\| cluster \(kind and the local registry: scripts\/dev-cluster\.sh\) \| \d+ s \|$/m);
        assert.match(summary, /^\| &nbsp;&nbsp;builds .* \| 20 min 00 s \|$/m);
        assert.match(summary, /^\| &nbsp;&nbsp;probe .* \| 55 s \|$/m);
        assert.match(summary, /^\| deploy command again \(must change nothing\) \| \d+ s \|$/m);
        assert.match(summary, /^\| teardown .* \| \d+ s \|$/m);
        assert.match(summary, /^\| pass \| 29\.9 \| 1280x720 \| video\/H264 \|/m);
        assert.match(summary, /^\| chrome-selkies \| 1\.40 GB \| `sha256:c{64}` \|$/m);
        // The artifacts: the probe's verdict and the screenshot it printed into its log (last attempt).
        assert.deepEqual(JSON.parse(fs.readFileSync(artifact("probe-result.json"), "utf8")), PASS);
        assert.ok(fs.readFileSync(artifact("stream-probe.png")).equals(PROBE_LOG_PNG));
    });

    describe("the --artifacts folder: a run replaces its own files there and nothing else", () => {
        const userFiles = { "notes.txt": "the user's notes\n", "photos/holiday.jpg": "not a real photo" };
        const withUserFiles = (extra: Record<string, string> = {}) => {
            for (const [name, text] of Object.entries({ ...userFiles, ...extra })) {
                fs.mkdirSync(path.dirname(artifact(name)), { recursive: true });
                fs.writeFileSync(artifact(name), text);
            }
        };

        it("keeps the folder's other files (--artifacts ~ or .) and removes an earlier run's", () => {
            fakeWorld(dir);
            // This run stops at the cluster, before the probe: an earlier run's probe files must not pass for its own.
            fakeTools(dir, { kind: `[ "$1" = create ] && exit 1; exit 0` });
            withUserFiles({ "probe-result.json": JSON.stringify(PASS), "probe.log": "an earlier run's log", "stream-probe.png": "old" });
            const r = run(SCRIPT, dir, opts());
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stderr, /FAILED: creating the kind cluster and the local registry failed/);
            for (const [name, text] of Object.entries(userFiles)) assert.equal(fs.readFileSync(artifact(name), "utf8"), text, `${name} was changed or removed`);
            for (const name of ["probe-result.json", "probe.log", "stream-probe.png"]) assert.ok(!fs.existsSync(artifact(name)), `an earlier run's ${name} was left`);
            assert.match(fs.readFileSync(artifact("summary.md"), "utf8"), /^## End to end: dev stack on kind FAILED$/m);
        });

        it("makes a folder that is not there yet", () => {
            fakeWorld(dir);
            const r = run(SCRIPT, dir, { ...opts(), args: ["--artifacts", path.join(dir, "new", "e2e")] });
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.ok(fs.existsSync(path.join(dir, "new", "e2e", "summary.md")));
        });

        it("refuses a folder where one of its file names is a folder, before making anything", () => {
            fakeWorld(dir);
            withUserFiles();
            fs.mkdirSync(artifact("summary.md"));
            fs.writeFileSync(artifact("summary.md/draft.md"), "the user's draft");
            const r = run(SCRIPT, dir, opts());
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stdout, /artifacts\/summary\.md is a folder, not a file of an earlier run: choose another folder with --artifacts DIR/);
            assert.equal(fs.readFileSync(artifact("summary.md/draft.md"), "utf8"), "the user's draft");
            assert.ok(!r.calls.some((c) => /^kind create|^docker run|^pulumi /.test(c)), r.calls.join("\n"));
        });

        it("names in ARTIFACT_FILES every file it and the report write there", () => {
            const script = fs.readFileSync(path.join(ROOT, "scripts", SCRIPT), "utf8");
            const listed = /^readonly ARTIFACT_FILES=\(([^)]*)\)$/m.exec(script)?.[1].split(/\s+/) ?? [];
            const written = [...script.matchAll(/\$artifacts\/([\w.-]+)/g)].map((m) => m[1]);
            assert.ok(written.length >= 6, `found only ${written.join(", ")}`);
            const missing = [...new Set([...written, ...Object.values(WORK_FILES)])].filter((f) => !listed.includes(f));
            assert.deepEqual(missing, [], "files a run writes that a new run would not clear");
        });
    });

    it("fails when the second run changes anything, names the change, and still removes everything", () => {
        fakeWorld(dir);
        fs.writeFileSync(path.join(dir, "second-exit"), "255");
        fs.writeFileSync(path.join(dir, "second-events.jsonl"), [eventLine(1, "pre", "same", "docker:index/image:Image", "chrome-selkies"), eventLine(2, "pre", "update", "kubernetes:apps/v1:Deployment", "session-test-session")].join("\n"));
        const r = run(SCRIPT, dir, opts());
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /FAILED: the second run of the deploy command changed what the first had made: update kubernetes:apps\/v1:Deployment session-test-session/);
        assert.match(fs.readFileSync(artifact("summary.md"), "utf8"), /^## End to end: dev stack on kind FAILED$/m);
        assert.ok(r.calls.includes("pulumi destroy --stack dev --yes --skip-preview"));
        assert.deepEqual(leftBehind(), []);
    });

    it("fails when the probe Job fails, keeps the probe's verdict, and still removes everything", () => {
        fakeWorld(dir);
        fs.writeFileSync(path.join(dir, "first-exit"), "255");
        fs.writeFileSync(path.join(dir, "probe.log"), probeLog(LOW_FPS));
        const r = run(SCRIPT, dir, opts());
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /FAILED: the deploy command failed/);
        assert.ok(!r.calls.some((c) => c.includes("--expect-no-changes")), "the no-op run ran after a failed deploy");
        assert.equal(JSON.parse(fs.readFileSync(artifact("probe-result.json"), "utf8")).reason, "low-fps");
        assert.match(fs.readFileSync(artifact("summary.md"), "utf8"), /^\| fail \(low-fps\) \| 4\.1 \|/m);
        assert.deepEqual(leftBehind(), []);
        assert.equal(fs.readFileSync(STACK_FILE, "utf8"), stackFile);
    });

    it("removes everything when stopped midway (SIGTERM during the deploy)", async () => {
        fakeWorld(dir);
        fs.writeFileSync(path.join(dir, "up-sleep"), "2");
        const child = start(SCRIPT, dir, opts());
        let stdout = "";
        child.stdout!.on("data", (d) => (stdout += d));
        child.stderr!.on("data", (d) => (stdout += d));
        const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
        while (!fs.existsSync(path.join(dir, "up-started"))) await new Promise((resolve) => setTimeout(resolve, 50));
        child.kill("SIGTERM");
        assert.equal(await closed, 143, stdout);
        assert.match(stdout, /failed: terminated/);
        assert.ok(callsIn(dir).includes("kind delete cluster --name streamspace"), stdout);
        assert.deepEqual(leftBehind(), []);
    });

    it("uses the dev stack's cluster, registry and probe labels (Pulumi.dev.yaml, dev-cluster.sh, the SessionTest Job)", async () => {
        const script = fs.readFileSync(path.join(ROOT, "scripts", SCRIPT), "utf8");
        const constant = (name: string) => new RegExp(`^readonly ${name}=(\\S+)$`, "m").exec(script)?.[1];
        const config = stackConfig("dev");
        assert.equal(config["streamspace-images:kubeContext"], `kind-${constant("CLUSTER_NAME")}`);
        assert.equal(config["streamspace-images:registryServer"], `localhost:${constant("REGISTRY_PORT")}`);
        assert.equal(config["streamspace-images:sessionTestProbeScreenshotLog"], "true", "the dev stack must print the screenshot for the run to read it back");
        const devCluster = fs.readFileSync(path.join(ROOT, "scripts/dev-cluster.sh"), "utf8");
        for (const [variable, name] of [["CLUSTER_NAME", "CLUSTER_NAME"], ["REGISTRY_NAME", "REGISTRY_NAME"], ["REGISTRY_PORT", "REGISTRY_PORT"]]) {
            assert.match(devCluster, new RegExp(`^${variable}=\\$\\{${variable}:-${constant(name)}\\}$`, "m"));
        }
        const run = await runProgram({ stack: "dev" });
        const labels = one(run, "kubernetes:batch/v1:Job").inputs.spec.template.metadata.labels;
        for (const pair of constant("PROBE_SELECTOR")!.replace(/"/g, "").split(",")) {
            const [key, value] = pair.split("=");
            assert.equal(labels[key], value, `the probe pods are not labelled ${pair}`);
        }
    });
});
