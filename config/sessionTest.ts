import { boolean, text } from "./fields";
import { defineSection } from "./section";

export interface SessionTestConfig {
    enabled: boolean;
    /** Catalog name of the image deployed and probed. */
    image: string;
}

export const sessionTestSection = defineSection({
    keys: {
        sessionTestEnabled: boolean().default(true),
        sessionTestImage: text().default("chrome-selkies"),
    },
    examples: {
        sessionTestEnabled: "true",
        sessionTestImage: "chrome-selkies",
    },
    build(v, ctx): SessionTestConfig {
        if (v.sessionTestEnabled && !ctx.imageNames.includes(v.sessionTestImage)) {
            ctx.problem({
                key: "sessionTestImage",
                value: v.sessionTestImage,
                message: `unknown image; the catalog has: ${ctx.imageNames.join(", ")}`,
                fix: ctx.setCommand("sessionTestImage", "chrome-selkies"),
            });
        }
        return { enabled: v.sessionTestEnabled, image: v.sessionTestImage };
    },
});
