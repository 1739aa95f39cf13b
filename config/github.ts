import { boolean } from "./fields";
import { defineSection } from "./section";

export interface GithubConfig {
    /** Manage the repository's environments, Actions secrets/variables and branch protection. */
    enabled: boolean;
}

export const githubSection = defineSection({
    keys: {
        githubEnabled: boolean().default(false),
    },
    examples: {
        githubEnabled: "true",
    },
    build(v): GithubConfig {
        return { enabled: v.githubEnabled };
    },
});
