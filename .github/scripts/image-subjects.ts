// Turns the stack output `imageDigests` ({name: "<repository>@sha256:<digest>"}) into the list the
// supply-chain job runs once per image: the repository, the digest and the full reference.
//
//   IMAGE_DIGESTS='{"chrome-selkies":"ghcr.io/o/chrome-selkies@sha256:..."}' image-subjects.ts

export interface ImageSubject {
    name: string;
    /** `<server>/<owner>/<name>`, without tag: the attestation's subject name. */
    repository: string;
    /** `sha256:<64 hex>`. */
    digest: string;
    /** `<repository>@<digest>`, what the SBOM and the scan read. */
    ref: string;
}

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

if (require.main === module) {
    const text = process.env.IMAGE_DIGESTS ?? "";
    const parsed = text.trim() === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
    process.stdout.write(`${JSON.stringify(imageSubjects(parsed))}\n`);
}
