import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BuildArgsOptions, CatalogImage, REPO_ROOT, SourceInfo, buildArgs, treeHash } from "../catalog";
import { Platform } from "../config/images";
import { RegistryConfig } from "../config/registry";

/** An image the program uses: built here (SessionImage) or taken prebuilt (`prebuiltImages`). */
export interface PublishedImage {
    /** The reference it is pushed under (tag), or the prebuilt reference. */
    readonly imageName: pulumi.Output<string>;
    /** `<server>/<owner>/<name>@sha256:...`; for a build that is not pushed, the local tag. */
    readonly repoDigest: pulumi.Output<string>;
    /** The image folder, relative to the repository root. */
    readonly folder: string;
    /** Published elsewhere and pinned by digest: nothing here builds it. */
    readonly prebuilt: boolean;
}

/** A prebuilt image: a reference pinned by digest, used as it is. */
export function prebuiltImage(image: CatalogImage, reference: string): PublishedImage {
    return { imageName: pulumi.output(reference), repoDigest: pulumi.output(reference), folder: image.folder, prebuilt: true };
}

/**
 * The build arguments of one image: a plain map whose only value that may be unknown is
 * BASE_IMAGE (the base's digest, unknown in a preview before the base is pushed). The Docker
 * provider cannot check a map that is itself unknown, so the map must never be one Output.
 */
export function imageBuildArgs(
    image: CatalogImage,
    opts: Omit<BuildArgsOptions, "baseImage"> & { baseImage: pulumi.Input<string>; extra?: Record<string, string> },
): Record<string, pulumi.Input<string>> {
    const { baseImage, extra, ...rest } = opts;
    return { ...buildArgs(image, { ...rest, baseImage: "" }), ...(extra ?? {}), BASE_IMAGE: baseImage };
}

export interface SessionImageArgs {
    /** The catalog entry to build. */
    image: CatalogImage;
    registry: RegistryConfig;
    /** The tag the image is built and pushed under. */
    tag: string;
    /** Further tags pushed for the same digest (release stacks: the metadata version and `latest`). */
    extraTags?: string[];
    platform: Platform;
    /** Push to the registry; off builds locally only. */
    push: boolean;
    /** Build during `pulumi preview` too (off by default: previews stay fast and need no Docker). */
    buildOnPreview?: boolean;
    /** The catalog image this one is built FROM, when its base is in the catalog. */
    base?: PublishedImage;
    /** Last commit of the image folder (revision and created labels). */
    source: SourceInfo;
    /** Repository address for the source/url/documentation labels. */
    sourceUrl: string;
    /** Repository root the image folder is relative to. */
    root?: string;
    /** Docker provider carrying registry credentials, for pushing extra tags. */
    tagProvider?: docker.Provider;
}

/**
 * One catalog image built with `docker.Image` and pushed as `<server>/<owner>/<name>:<tag>`.
 * Every build input is derived from the metadata, the folder's last commit and the base's digest,
 * so an untouched image is not rebuilt and a changed base rebuilds the images on it.
 */
export class SessionImage extends pulumi.ComponentResource implements PublishedImage {
    /** `<server>/<owner>/<name>:<tag>`. */
    public readonly imageName: pulumi.Output<string>;
    /** `<server>/<owner>/<name>@sha256:...` when pushed; the tag when built locally only. */
    public readonly repoDigest: pulumi.Output<string>;
    /** The repository without tag, `<server>/<owner>/<name>`. */
    public readonly repository: string;
    /** Every tag pushed, the main one first. */
    public readonly tags: string[];
    /** The image folder, relative to the repository root. */
    public readonly folder: string;
    public readonly prebuilt = false;

    constructor(name: string, args: SessionImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("streamspace:images:SessionImage", name, {}, opts);
        const root = args.root ?? REPO_ROOT;
        const { image, registry } = args;
        this.folder = image.folder;
        this.repository = `${registry.server}/${registry.owner}/${image.name}`;
        this.tags = [args.tag, ...(args.extraTags ?? []).filter((t) => t !== args.tag)];

        let baseImage: pulumi.Input<string>;
        const extraArgs: Record<string, string> = {};
        if ("external" in image.base) {
            baseImage = image.base.external;
        } else {
            if (!args.base) throw new Error(`SessionImage ${image.name}: its base '${image.base.image}' must be passed as args.base`);
            baseImage = args.push || args.base.prebuilt ? args.base.repoDigest : args.base.imageName;
            // Without a registry there is no digest; the base's file digest stands in for it.
            if (!args.push && !args.base.prebuilt) extraArgs.BASE_TREE_HASH = treeHash(args.base.folder, root);
        }

        // cacheFrom reuses layers only of images that carry BuildKit's inline cache metadata.
        if (args.push) extraArgs.BUILDKIT_INLINE_CACHE = "1";
        const imageArgs = imageBuildArgs(image, {
            platform: args.platform,
            baseImage,
            source: args.source,
            sourceUrl: args.sourceUrl,
            extra: extraArgs,
        });

        const built = new docker.Image(
            name,
            {
                imageName: `${this.repository}:${args.tag}`,
                build: {
                    // Relative to the project directory Pulumi runs in: identical on every machine.
                    context: path.relative(process.cwd(), path.join(root, image.folder)) || ".",
                    dockerfile: path.relative(process.cwd(), path.join(root, image.folder, image.dockerfile)),
                    platform: args.platform,
                    args: imageArgs,
                    builderVersion: "BuilderBuildKit",
                    ...(args.push ? { cacheFrom: { images: [`${this.repository}:${args.tag}`] } } : {}),
                },
                registry: registry.token
                    ? { server: registry.server, username: registry.username, password: registry.token }
                    : undefined,
                skipPush: !args.push,
                buildOnPreview: args.buildOnPreview ?? false,
            },
            { parent: this },
        );

        this.imageName = built.imageName;
        this.repoDigest = args.push ? built.repoDigest : built.imageName;

        if (args.push) {
            for (const extra of this.tags.slice(1)) {
                const target = `${this.repository}:${extra}`;
                const tag = new docker.Tag(
                    `${name}-${extra}`,
                    { sourceImage: built.repoDigest, targetImage: target },
                    { parent: this, provider: args.tagProvider },
                );
                new docker.RegistryImage(
                    `${name}-${extra}`,
                    {
                        name: tag.targetImage,
                        keepRemotely: true,
                        triggers: { digest: built.repoDigest },
                    },
                    { parent: this, provider: args.tagProvider },
                );
            }
        }

        this.registerOutputs({ imageName: this.imageName, repoDigest: this.repoDigest });
    }


    /**
     * Builds every catalog image in order, each child with its base's digest. With `release` (and
     * push), each image also gets its metadata version and `latest`, tagged through one Docker
     * provider that carries the registry's credentials.
     */
    static buildAll(
        images: CatalogImage[],
        common: Omit<SessionImageArgs, "image" | "base" | "source" | "extraTags" | "tagProvider"> & {
            source: (image: CatalogImage) => SourceInfo;
            /** Also push the metadata version and `latest` (release stacks). */
            release: boolean;
            /** Images not built but taken as published: name to a reference pinned by digest. */
            prebuilt?: Record<string, string>;
        },
        opts?: pulumi.ComponentResourceOptions,
    ): Map<string, PublishedImage> {
        const { release, prebuilt = {}, ...args } = common;
        const tagged = release && common.push;
        const registry = common.registry;
        const tagProvider = tagged
            ? new docker.Provider("registry", {
                  registryAuth: registry.token ? [{ address: registry.server, username: registry.username, password: registry.token }] : [],
              })
            : undefined;
        const built = new Map<string, PublishedImage>();
        for (const image of images) {
            if (Object.hasOwn(prebuilt, image.name)) {
                built.set(image.name, prebuiltImage(image, prebuilt[image.name]));
                continue;
            }
            const base = "image" in image.base ? built.get(image.base.image) : undefined;
            const sessionImage = new SessionImage(
                image.name,
                { ...args, image, base, source: common.source(image), extraTags: tagged ? [image.version, "latest"] : [], tagProvider },
                opts,
            );
            built.set(image.name, sessionImage);
        }
        return built;
    }
}
