import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { POLICIES, POLICY_DEFINITIONS } from "../../policy/policies";
import { policyConfigForStack } from "../../scripts/policy-config";
import { ROOT, stackNames } from "../harness";
import { deployment } from "./fixtures";
import { resourceViolations } from "./policyArgsAdapter";

type Schema = { type?: string; items?: Schema; properties?: Record<string, Schema>; required?: string[] };

/** The part of JSON schema the pack's config schemas use: types, array items, required object keys. */
function schemaProblems(value: unknown, schema: Schema, at: string): string[] {
    const ok =
        schema.type === "array" ? Array.isArray(value)
        : schema.type === "object" ? value !== null && typeof value === "object" && !Array.isArray(value)
        : schema.type === "integer" ? Number.isInteger(value)
        : typeof value === schema.type;
    if (!ok) return [`${at}: ${JSON.stringify(value)} is not of type ${schema.type}`];
    if (schema.type === "array" && schema.items) return (value as unknown[]).flatMap((v, i) => schemaProblems(v, schema.items!, `${at}[${i}]`));
    if (schema.type === "object") {
        const obj = value as Record<string, unknown>;
        return [
            ...(schema.required ?? []).filter((k) => !(k in obj)).map((k) => `${at}.${k} is missing`),
            ...Object.entries(schema.properties ?? {}).flatMap(([k, s]) => (k in obj ? schemaProblems(obj[k], s, `${at}.${k}`) : [])),
        ];
    }
    return [];
}

describe("policy pack", () => {
    it("has the mandatory and advisory policies the standard asks for", () => {
        const level = (l: string) => POLICIES.filter((p) => p.enforcementLevel === l).map((p) => p.name);
        assert.deepEqual(level("mandatory"), [
            "workload-image-digest",
            "workload-run-as-non-root",
            "workload-no-privilege-escalation",
            "workload-capabilities-dropped",
            "workload-seccomp-runtime-default",
            "workload-resources",
            "workload-gpu-tolerations",
            "workload-session-shm",
            "workload-host-namespaces",
            "service-session-exposure",
            "image-registry",
            "image-oci-labels",
            "gpu-pool-node-metadata",
        ]);
        assert.deepEqual(level("advisory"), ["service-turn-exposure", "gpu-pool-scales-to-zero"]);
        assert.equal(POLICIES.length, 15);
        for (const p of POLICIES) assert.ok(p.description.length > 30, `${p.name} needs a description`);
    });

    it("a policy run without its stack facts fails and says how to generate them", async () => {
        const v = await resourceViolations("service-session-exposure", { type: "kubernetes:core/v1:Service", name: "session", props: { spec: { type: "LoadBalancer" } } }, {});
        assert.equal(v.length, 1);
        assert.match(v[0].message, /^Service "session": the policy pack was run without the stack facts stack, allowPublicSessionServices, sessionPorts/);
        assert.match(v[0].message, /Fix: .*scripts\/policy-config\.ts <stack> > artifacts\/policy-config\.json.*--policy-pack-config artifacts\/policy-config\.json/);
    });

    it("policies that read no facts run without any configuration", async () => {
        assert.deepEqual(await resourceViolations("workload-run-as-non-root", deployment(), {}), []);
    });

    for (const stack of stackNames()) {
        it(`scripts/policy-config.ts ${stack}: one block per policy that reads facts, exactly its schema's keys, of the schema's types`, () => {
            const config = policyConfigForStack(stack);
            const withSchema = POLICIES.filter((p) => p.configSchema);
            assert.deepEqual(Object.keys(config).sort(), withSchema.map((p) => p.name).sort());
            for (const p of withSchema) {
                const block = config[p.name] as Record<string, unknown>;
                assert.deepEqual(Object.keys(block).sort(), Object.keys(p.configSchema!.properties).sort(), p.name);
                assert.deepEqual(schemaProblems(block, { type: "object", properties: p.configSchema!.properties as Record<string, Schema> }, p.name), []);
            }
        });
    }

    it("derives the facts from the stack file and the catalog", () => {
        const facts = (stack: string) => Object.assign({}, ...Object.values(policyConfigForStack(stack))) as Record<string, any>;
        const dev = facts("dev");
        const prod = facts("prod");
        assert.equal(dev.registryServer, "localhost:5001");
        assert.equal(prod.registryServer, "ghcr.io");
        assert.equal(prod.registryOwner, "streamspace-dev");
        assert.deepEqual([dev.production, facts("staging").production, prod.production], [false, false, true]);
        assert.equal(dev.allowPublicSessionServices, false);
        assert.ok(dev.sessionImages.includes("chrome-selkies") && dev.sessionImages.includes("selkies-base"));
        assert.ok(!dev.sessionImages.includes("stream-probe") && !dev.sessionImages.includes("coturn"), "tool images are no sessions");
        assert.deepEqual(dev.sessionPorts.find((p: { name: string }) => p.name === "selkies"), { name: "selkies", port: 8080 });
        assert.deepEqual(dev.turnPorts.map((p: { port: number }) => p.port), [3478, 3478]);
    });

    it("scripts/policy-config.ts prints that JSON, and names the stacks when given an unknown one", () => {
        const run = (...args: string[]) => spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/policy-config.ts", ...args], { cwd: ROOT, encoding: "utf8" });
        const ok = run("staging");
        assert.equal(ok.status, 0, ok.stderr);
        assert.deepEqual(JSON.parse(ok.stdout), policyConfigForStack("staging"));
        const unknown = run("qa");
        assert.equal(unknown.status, 1);
        assert.match(unknown.stderr, /no stack file Pulumi\.qa\.yaml; the stacks are: dev, prod, staging/);
    });

    it("policy/package.json names the pack's version (the root's) and no dependencies: the root npm ci installs them", () => {
        const pack = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "package.json"), "utf8"));
        const root = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(pack.version, root.version);
        assert.equal(pack.dependencies, undefined);
        assert.equal(pack.devDependencies, undefined);
        assert.match(root.devDependencies["@pulumi/policy"], /^\d+\.\d+\.\d+$/, "@pulumi/policy is pinned exactly in the root package.json");
        assert.match(fs.readFileSync(path.join(ROOT, "policy", "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
    });

    it("docs/policies.md lists every policy with its enforcement level", () => {
        const doc = fs.readFileSync(path.join(ROOT, "docs", "policies.md"), "utf8");
        for (const def of POLICY_DEFINITIONS) {
            const row = doc.split("\n").find((line) => line.startsWith(`| \`${def.name}\` |`));
            assert.ok(row, `docs/policies.md has no row for the policy ${def.name}`);
            assert.match(row, new RegExp(`\\| ${def.enforcementLevel} \\|`), `docs/policies.md gives ${def.name} another level than ${def.enforcementLevel}`);
        }
    });
});
