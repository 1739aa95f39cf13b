import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CatalogImage, REPO_ROOT, SourceInfo, buildArgs, treeHash } from "../catalog";
import { Platform } from "../config/images";
import { RegistryConfig } from "../config/registry";

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
    base?: SessionImage;
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
export class SessionImage extends pulumi.ComponentResource {
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
            baseImage = args.push ? args.base.repoDigest : args.base.imageName;
            // Without a registry there is no digest; the base's file digest stands in for it.
            if (!args.push) extraArgs.BASE_TREE_HASH = treeHash(args.base.folder, root);
        }

        const imageArgs = pulumi.output(baseImage).apply((resolvedBase) => ({
            ...buildArgs(image, {
                platform: args.platform,
                baseImage: resolvedBase,
                source: args.source,
                sourceUrl: args.sourceUrl,
            }),
            ...extraArgs,
        }));

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
        },
        opts?: pulumi.ComponentResourceOptions,
    ): Map<string, SessionImage> {
        const { release, ...args } = common;
        const tagged = release && common.push;
        const registry = common.registry;
        const tagProvider = tagged
            ? new docker.Provider("registry", {
                  registryAuth: registry.token ? [{ address: registry.server, username: registry.username, password: registry.token }] : [],
              })
            : undefined;
        const built = new Map<string, SessionImage>();
        for (const image of images) {
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
