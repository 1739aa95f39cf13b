import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";
import { fakeTools, run as runScript } from "./fakeCommands";

const run = (script: string, dir: string, env: Record<string, string> = {}) => runScript(script, dir, { env });

describe("scripts/dev-cluster.sh (with test doubles for docker, kind and kubectl)", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-cluster-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("creates the registry and the cluster when neither exists, wired as kind documents", () => {
        fakeTools(dir, {
            docker: `case "$1" in inspect) [ "$2" = "-f" ] && [[ "$3" == *Networks* ]] && echo null; exit 1;; esac; [ "$1" = exec ] && cat >/dev/null; exit 0`,
            kind: `case "$1" in get) [ "$2" = nodes ] && echo streamspace-control-plane; exit 0;; create) cp "\${@: -1}" ${JSON.stringify(path.join(dir, "kind-config.yaml"))};; esac`,
            kubectl: "cat > /dev/null",
        });
        const r = run("dev-cluster.sh", dir);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.ok(r.calls.some((c) => /^docker run -d .*-p 127\.0\.0\.1:5001:5000 .*--name kind-registry .*registry:2/.test(c)), r.calls.join("\n"));
        assert.ok(r.calls.some((c) => /^kind create cluster --name streamspace --config /.test(c)));
        const kindConfig = fs.readFileSync(path.join(dir, "kind-config.yaml"), "utf8");
        assert.match(kindConfig, /config_path = "\/etc\/containerd\/certs\.d"/);
        assert.ok(r.calls.includes("docker exec streamspace-control-plane mkdir -p /etc/containerd/certs.d/localhost:5001"));
        assert.ok(r.calls.includes("docker network connect kind kind-registry"));
        assert.ok(r.calls.some((c) => c.startsWith("kubectl --context kind-streamspace apply")));
    });

    it("changes nothing when the registry runs and the cluster exists", () => {
        fakeTools(dir, {
            docker: `[ "$1" = inspect ] && [[ "$3" == *Running* ]] && echo true; [ "$1" = inspect ] && [[ "$3" == *Networks* ]] && echo '{"IPAddress":"172.18.0.3"}'; [ "$1" = exec ] && cat >/dev/null; exit 0`,
            kind: `[ "$1" = get ] && [ "$2" = clusters ] && echo streamspace; [ "$2" = nodes ] && echo streamspace-control-plane; exit 0`,
            kubectl: "cat > /dev/null",
        });
        const r = run("dev-cluster.sh", dir);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.ok(!r.calls.some((c) => c.startsWith("docker run")), "a second registry was started");
        assert.ok(!r.calls.some((c) => c.startsWith("kind create")), "the cluster was created again");
        assert.ok(!r.calls.some((c) => c.startsWith("docker network connect")));
    });
});

describe("scripts/deploy-dev.sh (with test doubles)", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-dev-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("names every missing prerequisite and does nothing else", () => {
        fakeTools(dir, { npm: "exit 0", docker: "exit 0" });
        const r = run("deploy-dev.sh", dir);
        assert.equal(r.status, 1);
        assert.match(r.stdout, /missing prerequisites/);
        assert.match(r.stdout, /pulumi \(https:\/\/www\.pulumi\.com\/docs\/install\/\)/);
        assert.match(r.stdout, /kind \(/);
        assert.match(r.stdout, /kubectl \(/);
        assert.match(r.stdout, /- node \(Node\.js 20\.19/);
        assert.doesNotMatch(r.stdout, /- npm/);
        assert.deepEqual(r.calls, [], "a tool ran although prerequisites were missing");
    });

    it("says so when Docker is installed but its engine is not running", () => {
        fakeTools(dir, { node: "", npm: "", pulumi: "", kind: "", kubectl: "", docker: `[ "$1" = info ] && exit 1; exit 0` });
        const r = run("deploy-dev.sh", dir);
        assert.equal(r.status, 1);
        assert.match(r.stdout, /engine is not reachable/);
        assert.ok(!r.calls.some((c) => c.startsWith("npm")), "npm ran before the engine check");
    });

    it("without a Pulumi login, deploys the dev stack on a file backend inside the repository", () => {
        const env = path.join(dir, "pulumi-env");
        fakeTools(dir, {
            node: "",
            npm: "",
            docker: `[ "$1" = inspect ] && [[ "$3" == *Running* ]] && echo true; [ "$1" = inspect ] && [[ "$3" == *Networks* ]] && echo '{}'; [ "$1" = exec ] && cat >/dev/null; exit 0`,
            kind: `[ "$1" = get ] && [ "$2" = clusters ] && echo streamspace; exit 0`,
            kubectl: "cat > /dev/null",
            pulumi: `[ "$1" = whoami ] && exit 1; [ "$1" = up ] && { echo "$PULUMI_BACKEND_URL" > ${JSON.stringify(env)}; echo "passphrase-set=\${PULUMI_CONFIG_PASSPHRASE+yes}" >> ${JSON.stringify(env)}; }; exit 0`,
        });
        const r = run("deploy-dev.sh", dir);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        const order = r.calls.map((c) => c.split(" ").slice(0, 2).join(" "));
        assert.ok(order.indexOf("npm ci") < order.indexOf("kind get"), "dependencies are installed first");
        assert.ok(r.calls.includes("pulumi stack select dev --create"));
        const up = r.calls.find((c) => c.startsWith("pulumi up"));
        const policyConfig = new RegExp(`^pulumi up --stack dev --yes --policy-pack ${ROOT}/policy --policy-pack-config (\\S+)$`).exec(up ?? "")?.[1];
        assert.ok(policyConfig, `pulumi up without the policy pack and its configuration: ${up}`);
        assert.ok(
            r.calls.indexOf(`node -r ts-node/register/transpile-only ${ROOT}/scripts/policy-config.ts dev`) < r.calls.indexOf(up ?? ""),
            "the pack's configuration is written from the dev stack before the update",
        );
        assert.ok(!fs.existsSync(policyConfig), "the pack's configuration file is left behind");
        const [backend, passphrase] = fs.readFileSync(env, "utf8").trim().split("\n");
        assert.equal(backend, `file://${ROOT}/.pulumi-state`);
        assert.equal(passphrase, "passphrase-set=yes");
    });
});
