import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../harness";

/**
 * scripts/lab/node.sh refuses what it cannot use before it touches the machine: a missing command
 * or folder, a control plane that is not one, a folder that is not its own. (The node itself runs
 * in tests/engine/sessionOnNode.test.ts.)
 */

const NODE_SH = path.join(ROOT, "scripts", "lab", "node.sh");

function nodeSh(...args: string[]): { status: number | null; stderr: string } {
    const r = spawnSync(NODE_SH, args, { encoding: "utf8", timeout: 30_000 });
    return { status: r.status, stderr: r.stderr };
}

describe("scripts/lab/node.sh refuses bad input before touching the machine", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-sh-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("without a command, or with an unknown one, prints its usage", () => {
        const none = nodeSh();
        assert.equal(none.status, 1);
        assert.match(none.stderr, /node\.sh start STATE_DIR --control-plane APISERVER_STATE_DIR/);
        assert.match(nodeSh("restart", dir).stderr, /unknown command: restart/);
    });

    it("start needs the control plane's folder, and one of apiserver.sh with its kubeconfig and CA", () => {
        assert.match(nodeSh("start", path.join(dir, "node")).stderr, /start takes STATE_DIR --control-plane APISERVER_STATE_DIR/);
        const r = nodeSh("start", path.join(dir, "node"), "--control-plane", dir);
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`${dir} is not the state folder of a running scripts/lab/apiserver\\.sh`));
        assert.ok(!fs.existsSync(path.join(dir, "node")), "a refused start left a state folder");
    });

    it("stop leaves a folder that is not its own untouched", () => {
        fs.writeFileSync(path.join(dir, "keep"), "mine");
        const r = nodeSh("stop", dir);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /is not a state folder of node\.sh/);
        assert.equal(fs.readFileSync(path.join(dir, "keep"), "utf8"), "mine");
        assert.equal(nodeSh("stop", path.join(dir, "absent")).status, 0, "stopping what is not there is not an error");
    });

    it("push needs a running node's folder and a NAME:TAG target", () => {
        assert.match(nodeSh("push", dir, "localhost/x:1", "a/b:c").stderr, /is not the state folder of a running node/);
        fs.writeFileSync(path.join(dir, ".streamspace-node"), "");
        fs.writeFileSync(path.join(dir, "node.env"), "REGISTRY=localhost:5999\n");
        const r = nodeSh("push", dir, "localhost/x:1", "streamspace-dev/chrome-selkies");
        assert.equal(r.status, 1);
        assert.match(r.stderr, /give the target as NAME:TAG \(streamspace-dev\/chrome-selkies:dev\), not 'streamspace-dev\/chrome-selkies'/);
        assert.match(nodeSh("push", dir, "localhost/x:1").stderr, /push takes STATE_DIR IMAGE NAME:TAG/);
    });
});
