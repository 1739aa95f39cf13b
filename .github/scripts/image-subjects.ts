// Lists the images a stack has pushed, from its state (`pulumi stack export`), as the supply-chain
// and scan jobs run them once per image: the repository, the digest and the full reference. The
// state rather than the stack outputs: a targeted update (a release's images-only first phase)
// leaves the outputs as they were, while every docker.Image it pushed is in the state at once.
//
//   pulumi stack export --stack prod > state.json && image-subjects.ts state.json

import * as fs from "fs";

export interface ImageSubject {
    name: string;
    /** `<server>/<owner>/<name>`, without tag: the attestation's subject name. */
    repository: string;
    /** `sha256:<64 hex>`. */
    digest: string;
    /** `<repository>@<digest>`, what the SBOM and the scan read. */
    ref: string;
}

const IMAGE_TYPE = "docker:index/image:Image";

export function imageSubjects(digests: Record<string, unknown>): ImageSubject[] {
    return Object.entries(digests)
        .map(([name, value]) => {
            const match = /^([^@\s]+)@(sha256:[a-f0-9]{64})$/.exec(String(value));
            // Without a digest the image was not pushed: there is nothing in a registry to attest.
            if (!match) return undefined;
            return { name, repository: match[1], digest: match[2], ref: `${match[1]}@${match[2]}` };
        })
        .filter((s): s is ImageSubject => s !== undefined)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

interface StateResource {
    urn?: string;
    type?: string;
    outputs?: { repoDigest?: unknown };
}

/** The repoDigest of every docker.Image in an exported state, by the resource's name. */
export function digestsFromState(state: { deployment?: { resources?: StateResource[] } }): Record<string, unknown> {
    const digests: Record<string, unknown> = {};
    for (const r of state.deployment?.resources ?? []) {
        if (r.type !== IMAGE_TYPE || !r.urn) continue;
        digests[r.urn.slice(r.urn.lastIndexOf("::") + 2)] = r.outputs?.repoDigest;
    }
    return digests;
}

if (require.main === module) {
    const file = process.argv[2];
    if (!file) {
        process.stderr.write("usage: image-subjects.ts STATE.json (the output of pulumi stack export)\n");
        process.exit(2);
    }
    const state = JSON.parse(fs.readFileSync(file, "utf8"));
    process.stdout.write(`${JSON.stringify(imageSubjects(digestsFromState(state)))}\n`);
}
