import { execFile, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ApiServer } from "./apiServer";

/**
 * A Kubernetes node for the lab's control plane (scripts/lab/node.sh): a registry, containerd,
 * kube-scheduler, kubelet, kube-proxy and CoreDNS as processes on this machine, so Pods run.
 */

const LAB = path.resolve(__dirname, "..", "..", "scripts", "lab");
const NODE_PIECES = ["kube-scheduler", "kubelet", "kube-proxy", "coredns"];
/** The Debian commands node.sh runs (scripts/test.sh installs their packages). */
const NODE_TOOLS = ["containerd", "ctr", "runc", "docker-registry", "catatonit", "podman", "iptables", "ip"];

function run(args: string[], timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(path.join(LAB, "node.sh"), args, { timeout: timeoutMs }, (error, stdout, stderr) => {
            if (error) reject(new Error(`scripts/lab/node.sh ${args[0]} failed (${error.message.split("\n")[0]}):\n${stderr}`));
            else resolve(stdout.trim());
        });
    });
}

function onPath(command: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

export class LabNode {
    private constructor(
        readonly stateDir: string,
        /** The node's registry (`localhost:PORT`): what is pushed there, Pods pull. */
        readonly registry: string,
    ) {}

    /** Why a node cannot run here, or undefined when it can. */
    static missing(): string | undefined {
        if (process.getuid?.() !== 0) return "the node runs as root (kubelet, containerd and the CNI plugins manage namespaces, mounts and iptables)";
        const tools = NODE_TOOLS.filter((t) => !onPath(t));
        if (tools.length > 0) return `not installed: ${tools.join(", ")} (scripts/test.sh installs them)`;
        try {
            execFileSync(path.join(LAB, "kubernetes.sh"), ["--print-path", "--no-build", ...NODE_PIECES], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
        } catch (e) {
            const err = e as { stderr?: string; message: string };
            return (err.stderr || err.message).trim().split("\n").pop();
        }
        return undefined;
    }

    /** Joins a node to `api`; it stops with `stop()`, or on its own when this process ends. */
    static async start(api: ApiServer, timeoutMs: number): Promise<LabNode> {
        const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-node-"));
        await run(["start", stateDir, "--control-plane", api.stateDir, "--owner", String(process.pid)], timeoutMs);
        const env = fs.readFileSync(path.join(stateDir, "node.env"), "utf8");
        const registry = /^REGISTRY=(.+)$/m.exec(env)?.[1];
        if (!registry) throw new Error(`node.sh wrote no registry into ${stateDir}/node.env`);
        return new LabNode(stateDir, registry);
    }

    /** Pushes a podman image of the offline builds as `name:tag`; returns the `repo@sha256:` reference. */
    push(image: string, target: string): Promise<string> {
        return run(["push", this.stateDir, image, target], 600_000);
    }

    /** Builds the Containerfile in `context` with `buildArgs` (NAME=VALUE) and pushes it as `name:tag`; returns the `repo@sha256:` reference. */
    build(context: string, target: string, buildArgs: string[]): Promise<string> {
        return run(["build", this.stateDir, context, target, ...buildArgs], 600_000);
    }

    async stop(): Promise<void> {
        await run(["stop", this.stateDir], 180_000);
    }
}
