/**
 * What destination-url.test.ts left open (issue 20, mutation testing): the exact list of URL forms,
 * how an input is labelled in errors (as given, without its password, by scheme, or generically), a
 * blank input, errors thrown inside a provider's parser, and formatDestinationUrl's refusals.
 */
import { describe, expect, it } from "vitest";
import { destinationUrlForms, formatDestinationUrl, parseDestinationUrl } from "../src/destination-url.ts";
import type { DestinationSpec } from "../src/registry.ts";
import { caught } from "./caught.ts";

const FORMS =
  "file:///abs/path (or /abs/path), s3://bucket/prefix?endpoint=…&region=…&path_style=true, " +
  "nextcloud+https://user@host/folder, webdav+https://[user@]host/path or gdrive://FOLDER_ID?credentials=/path/key.json";

describe("destination URL errors", () => {
  it("lists the URL forms of the providers that have one, the last after 'or'", () => {
    expect(destinationUrlForms()).toBe(FORMS);
  });

  it("a blank destination says none was given, whatever the spaces", () => {
    for (const input of ["", "   ", "\t\n"]) {
      const error = caught(() => parseDestinationUrl(input, {}));
      expect(error.destination).toBe("(destination URL)");
      expect(error.message).toBe(`(destination URL): no destination given; use one of ${FORMS}`);
    }
  });

  it("an input without '@' is named as given", () => {
    expect(caught(() => parseDestinationUrl("backups/daily", {})).destination).toBe("backups/daily");
    expect(caught(() => parseDestinationUrl("ftp://Host/a b", {})).destination).toBe("ftp://Host/a b");
  });

  it("a URL with a user and a password is named with the user only", () => {
    const error = caught(() => parseDestinationUrl("s3://AKIA:s3-secret-in-url@bucket/x", {}));
    expect(error.destination).toBe("s3://AKIA@bucket/x");
  });

  it("scp's form user:password@host:/path never shows the password ('user:' parses as a scheme)", () => {
    for (const input of ["alice:hunter2@nas:/backups", "alice:hunter2@nas/backups"]) {
      const error = caught(() => parseDestinationUrl(input, {}));
      expect(error.code).toBe("INVALID_CONFIG");
      expect(error.message).not.toContain("hunter2");
      expect(error.destination).toBe("alice://…");
    }
  });

  it("an unparsable input with '@' is named by its scheme only when it starts with one", () => {
    expect(caught(() => parseDestinationUrl("1alice:pw@host", {})).destination).toBe("(destination URL)");
    expect(caught(() => parseDestinationUrl("bob@host:backups x", {})).destination).toBe("(destination URL)");
  });

  it("a provider's refusal is labelled with the displayable input, like every other error", () => {
    // google_drive cannot read the key file; the input as given has a space the URL form escapes.
    const error = caught(() => parseDestinationUrl("gdrive://F?credentials=/no such.json&impersonate=a@example.com", {}));
    expect(error.destination).toBe("gdrive://F?credentials=/no%20such.json&impersonate=a@example.com");
    expect(error.message).toContain("gdrive://F?credentials=/no%20such.json&impersonate=a@example.com: cannot read the Google");
  });

  it("a parser's own error (a malformed %-escape) is an INVALID_CONFIG, not a crash", () => {
    for (const input of ["file:///srv/%E0%A4%A", "file:///srv/%zz"]) {
      const error = caught(() => parseDestinationUrl(input, {}));
      expect(error.code).toBe("INVALID_CONFIG");
      expect(error.message).toContain("cannot read this URL: URI malformed");
    }
  });
});

describe("formatDestinationUrl refusals", () => {
  it("a type without a URL form, or no such type", () => {
    const browser = caught(() => formatDestinationUrl({ type: "browser_download", config: {} } as DestinationSpec));
    expect(browser.code).toBe("INVALID_CONFIG");
    expect(browser.message).toBe("browser_download: this storage type has no URL form");
    const unknown = caught(() => formatDestinationUrl({ type: "dropbox", config: {} } as unknown as DestinationSpec));
    expect(unknown.message).toBe("dropbox: this storage type has no URL form");
  });

  it("a configuration its schema refuses", () => {
    const error = caught(() => formatDestinationUrl({ type: "s3", config: { bucket: "" } } as DestinationSpec));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toBe("s3: the configuration is not valid");
  });
});
