import { defineConfig } from "vitest/config";

// Unit tests of the SDK's browser-free logic; the browser tests live in tests/browser (their own runner).
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
    testTimeout: 10000,
  },
});
