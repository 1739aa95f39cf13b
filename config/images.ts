import { boolean, stringList, stringMap, text } from "./fields";
import { closest, shellQuote } from "./problems";
import { SectionContext, defineSection } from "./section";

export const PLATFORMS = ["linux/amd64", "linux/arm64"] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface ImagesConfig {
    /** Build images at all; off on stacks that only manage settings (the GitHub bootstrap stack). */
    enabled: boolean;
    /** Images asked for by name; empty means every image in the catalog. */
    selected: string[];
    /** The tag every image is pushed under. */
    tag: string;
    /** Release stacks also push each image's metadata version and `latest`. */
    release: boolean;
    platform: Platform;
    push: boolean;
    buildOnPreview: boolean;
    /**
     * Images taken as already published instead of built: catalog name to a reference pinned by
     * digest. The session test, the Templates and the images built on them use that digest.
     */
    prebuilt: Record<string, string>;
}

/**
 * An image reference pinned by digest: `host[:port]/path@sha256:<64 hex>`, the form
 * `pulumi stack output imageDigests` prints. The path's components are the distribution spec's.
 */
const pinnedReference = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)+@sha256:[a-f0-9]{64}$/;

export function isPinnedReference(reference: string): boolean {
    return pinnedReference.test(reference);
}

// The OCI distribution spec's tag grammar.
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function sanitizeTag(tag: string): string {
    const cleaned = tag.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^[.-]+/, "").slice(0, 128);
    return cleaned === "" ? "dev" : cleaned;
}

export const imagesSection = defineSection({
    keys: {
        imagesEnabled: boolean().default(true),
        images: stringList(text()).default([]),
        imageTag: text().default("dev"),
        imageRelease: boolean().default(false),
        imagePlatform: text().default("linux/amd64"),
        imagePush: boolean().default(true),
        imageBuildOnPreview: boolean().default(false),
        prebuiltImages: stringMap(text()).default({}),
    },
    examples: {
        imagesEnabled: "false",
        images: "[chrome-selkies]",
        imageTag: "v1.0.0",
        imageRelease: "true",
        imagePlatform: "linux/amd64",
        imagePush: "true",
        imageBuildOnPreview: "false",
        prebuiltImages: "--path 'prebuiltImages.chrome-selkies' ghcr.io/streamspace-dev/chrome-selkies@sha256:<64 hex digits>",
    },
    build(v, ctx): ImagesConfig {
        const guess = (name: string) => {
            const near = closest(name, ctx.imageNames);
            return near ? ` (did you mean '${near}'?)` : "";
        };
        const seen = new Set<string>();
        for (const name of v.images) {
            if (!ctx.imageNames.includes(name)) {
                ctx.problem({
                    key: "images",
                    value: JSON.stringify(v.images),
                    message: `unknown image '${name}'${guess(name)}; the catalog has: ${ctx.imageNames.join(", ")}`,
                    // Only a close name is offered as the fix; otherwise the list above says what exists.
                    fix: `pulumi config set --path 'images[${v.images.indexOf(name)}]' ${shellQuote(closest(name, ctx.imageNames) ?? "<an image of the catalog>")} --stack ${ctx.stack}  (or remove it from the list)`,
                });
            }
            if (seen.has(name)) {
                ctx.problem({
                    key: "images",
                    value: JSON.stringify(v.images),
                    message: `'${name}' is listed twice`,
                    fix: `remove the second '${name}' from ${"images"} in Pulumi.${ctx.stack}.yaml`,
                });
            }
            seen.add(name);
        }
        if (!tagPattern.test(v.imageTag)) {
            ctx.problem({
                key: "imageTag",
                value: v.imageTag,
                message:
                    "a registry refuses this tag: use letters, digits, '_', '.' and '-', at most 128 characters, not starting with '.' or '-'",
                fix: ctx.setCommand("imageTag", sanitizeTag(v.imageTag)),
            });
        }
        if (!(PLATFORMS as readonly string[]).includes(v.imagePlatform)) {
            ctx.problem({
                key: "imagePlatform",
                value: v.imagePlatform,
                message: `unknown platform; allowed: ${PLATFORMS.join(", ")}`,
            });
        }
        checkPrebuiltImages(v.prebuiltImages, v.imageRelease, ctx);
        return {
            enabled: v.imagesEnabled,
            selected: v.images,
            tag: v.imageTag,
            release: v.imageRelease,
            platform: v.imagePlatform as Platform,
            push: v.imagePush,
            buildOnPreview: v.imageBuildOnPreview,
            prebuilt: v.prebuiltImages,
        };
    },
});

/** `prebuiltImages`: catalog names, references pinned by digest, and no release stack. */
function checkPrebuiltImages(prebuilt: Record<string, string>, release: boolean, ctx: SectionContext): void {
    const near = (name: string) => closest(name, ctx.imageNames);
    for (const [name, reference] of Object.entries(prebuilt)) {
        if (!ctx.imageNames.includes(name)) {
            ctx.problem({
                key: `prebuiltImages.${name}`,
                value: reference,
                message: `unknown image '${name}'${near(name) ? ` (did you mean '${near(name)}'?)` : ""}; the catalog has: ${ctx.imageNames.join(", ")}`,
                fix: `pulumi config rm --path ${shellQuote(`prebuiltImages.${name}`)} --stack ${ctx.stack}`,
            });
        }
        if (!isPinnedReference(reference)) {
            ctx.problem({
                key: `prebuiltImages.${name}`,
                value: reference,
                message:
                    "not an image reference pinned by digest: use REGISTRY/OWNER/NAME@sha256:<64 hex digits>, as another stack's 'pulumi stack output imageDigests' prints it (a tag can move under the session test)",
                fix: `pulumi config set --path ${shellQuote(`prebuiltImages.${name}`)} "$(pulumi stack output imageDigests --stack <the stack that built it> | jq -r ${shellQuote(`.["${name}"]`)})" --stack ${ctx.stack}`,
            });
        }
    }
    const prebuiltNames = Object.keys(prebuilt);
    if (release && prebuiltNames.length > 0) {
        ctx.problem({
            key: "prebuiltImages",
            value: JSON.stringify(prebuilt),
            message: `a release stack builds and tags every image it publishes; ${prebuiltNames.join(", ")} would be published without its version tag`,
            fix: `pulumi config rm prebuiltImages --stack ${ctx.stack}`,
        });
    }
}
