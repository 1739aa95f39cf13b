// Prints the policy pack's configuration for one stack (the JSON that `--policy-pack-config` reads):
// the stack facts of policy/facts.ts, from the stack file and the image catalog.
// Run: node -r ts-node/register/transpile-only scripts/policy-config.ts STACK > artifacts/policy-config.json
import * as path from "path";
import { Catalog, loadCatalog } from "../catalog";
import { StackConfig, parseStackConfig } from "../config";
import { PROD_ENVIRONMENT } from "../config/github";
import { StackFileConfig, readStackFileConfig } from "../config/stackFile";
import { TURN_IMAGE } from "../config/sessionTest";
import { NamedPort, StackFacts } from "../policy/facts";
import { policyPackConfig } from "../policy/policies";

const ROOT = path.resolve(__dirname, "..");

/** The config of a stack file; encrypted values (credentials) are never facts of a policy. */
export function readStackFile(stack: string, root: string = ROOT): StackFileConfig {
    try {
        return readStackFileConfig(stack, root, "encrypted-value-not-read");
    } catch (e) {
        throw new Error(`policy-config: ${(e as Error).message}`);
    }
}

function uniquePorts(ports: NamedPort[]): NamedPort[] {
    const seen = new Map<string, NamedPort>();
    for (const p of ports) seen.set(`${p.name}/${p.port}`, { name: p.name, port: p.port });
    return [...seen.values()].sort((a, b) => a.port - b.port || a.name.localeCompare(b.name));
}

/** The facts the policies need about a stack, from its parsed configuration and the catalog. */
export function stackFacts(config: StackConfig, catalog: Catalog): StackFacts {
    const sessionImages = catalog.images.filter((i) => i.kind === "session" || i.kind === "base");
    const turn = catalog.images.find((i) => i.name === TURN_IMAGE);
    return {
        stack: config.stack,
        production: config.stack === PROD_ENVIRONMENT,
        registryServer: config.registry.server,
        registryOwner: config.registry.owner,
        allowPublicSessionServices: config.policy.allowPublicSessionServices,
        allowWarmGpuNodes: config.policy.allowWarmGpuNodes,
        sessionImages: sessionImages.map((i) => i.name).sort(),
        sessionPorts: uniquePorts(sessionImages.flatMap((i) => i.ports)),
        turnPorts: uniquePorts(turn?.ports ?? []),
    };
}

/** The policy pack's configuration for a stack file of the repository. */
export function policyConfigForStack(stack: string, root: string = ROOT) {
    const catalog = loadCatalog(root);
    const file = readStackFile(stack, root);
    const config = parseStackConfig(file.raw, {
        stack,
        secretKeys: file.secretKeys,
        // The registry credential is checked for pushing, not for policies: a stand-in satisfies it.
        env: { GHCR_TOKEN: "not-needed-for-policy-config" },
        imageNames: catalog.images.map((i) => i.name),
    });
    return policyPackConfig(stackFacts(config, catalog));
}

if (require.main === module) {
    const stack = process.argv[2];
    if (!stack || process.argv.length > 3) {
        console.error("usage: node -r ts-node/register/transpile-only scripts/policy-config.ts STACK > artifacts/policy-config.json");
        process.exit(2);
    }
    try {
        process.stdout.write(`${JSON.stringify(policyConfigForStack(stack), null, 2)}\n`);
    } catch (e) {
        console.error((e as Error).message);
        process.exit(1);
    }
}
