// Test doubles for the tools the scripts call (docker, kind, kubectl, pulumi, npm, curl, ...): tiny
// executables named like the real ones, which log their arguments and answer the questions the
// scripts ask. The scripts run with only these and a few basic utilities on PATH, so that tools
// installed on this machine stay out of sight.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../harness";

/** Writes one fake command per entry into dir; each logs "<tool> <args>" to dir/calls.log first. */
export function fakeTools(dir: string, behaviour: Record<string, string>): void {
    const log = path.join(dir, "calls.log");
    for (const [tool, body] of Object.entries(behaviour)) {
        const file = path.join(dir, tool);
        fs.writeFileSync(file, `#!/bin/bash\necho "${tool} $*" >> ${JSON.stringify(log)}\n${body}\n`);
        fs.chmodSync(file, 0o755);
    }
}

const BASIC_UTILITIES = ["awk", "bash", "cat", "cp", "dirname", "grep", "gzip", "install", "mkdir", "mktemp", "rm", "sed", "sha256sum", "sleep", "tail", "tar", "touch", "uname"];

/** A folder of links to the basic utilities (and any real tools named in `extra`, e.g. node). */
function basicBin(dir: string, extra: Record<string, string>): string {
    const bin = path.join(dir, "basic-bin");
    fs.mkdirSync(bin, { recursive: true });
    for (const tool of BASIC_UTILITIES) {
        const real = ["/usr/bin", "/bin"].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f));
        if (real && !fs.existsSync(path.join(bin, tool))) fs.symlinkSync(real, path.join(bin, tool));
    }
    for (const [tool, real] of Object.entries(extra)) if (!fs.existsSync(path.join(bin, tool))) fs.symlinkSync(real, path.join(bin, tool));
    return bin;
}

export interface RunOptions {
    env?: Record<string, string>;
    args?: string[];
    /** Real tools to put on PATH besides the basic utilities: name -> executable. */
    realTools?: Record<string, string>;
    /** The checkout the script runs from (default: this repository); see checkoutWithOwnCopies. */
    root?: string;
}

/** The calls the fake commands logged, in order. */
export function callsIn(dir: string): string[] {
    const logFile = path.join(dir, "calls.log");
    return fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim().split("\n") : [];
}

function spawnArgs(script: string, dir: string, options: RunOptions) {
    const bin = basicBin(dir, options.realTools ?? {});
    return {
        command: path.join(bin, "bash"),
        args: [path.join(options.root ?? ROOT, script.includes("/") ? script : path.join("scripts", script)), ...(options.args ?? [])],
        options: { env: { PATH: `${dir}:${bin}`, HOME: dir, ...options.env }, cwd: dir },
    };
}

/**
 * A checkout for a script that writes into the repository (scripts/e2e.sh puts Pulumi.dev.yaml
 * back after Pulumi wrote to it): links to every top-level entry of this repository, except real
 * copies of the files named, so that a test never changes a file of the repository itself.
 */
export function checkoutWithOwnCopies(dir: string, copies: string[]): string {
    const checkout = path.join(dir, "checkout");
    fs.mkdirSync(checkout, { recursive: true });
    for (const entry of fs.readdirSync(ROOT)) {
        if (entry === ".git" || entry === "artifacts") continue;
        const target = path.join(checkout, entry);
        if (copies.includes(entry)) fs.copyFileSync(path.join(ROOT, entry), target);
        else fs.symlinkSync(path.join(ROOT, entry), target);
    }
    return checkout;
}

/** Runs a repository script (a path from the root, or a name under scripts/) with the fakes in dir. */
export function run(script: string, dir: string, options: RunOptions = {}) {
    const s = spawnArgs(script, dir, options);
    const result = spawnSync(s.command, s.args, { ...s.options, encoding: "utf8" });
    return { ...result, calls: callsIn(dir) };
}

/** Starts the script without waiting, for tests that signal it midway. */
export function start(script: string, dir: string, options: RunOptions = {}): ChildProcess {
    const s = spawnArgs(script, dir, options);
    return spawn(s.command, s.args, { ...s.options, stdio: ["ignore", "pipe", "pipe"] });
}
