/**
 * @module lib/download
 * Saves a Blob as a file through a generated `<a download>` click: it works outside a user gesture's
 * popup allowance (window.open would be blocked) and keeps the bearer token out of any URL.
 */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.rel = "noopener";
  a.style.display = "none";
  document.body.append(a);
  a.click();
  a.remove();
  // The click has started the download synchronously; the URL can go once the event loop moves on.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name from a diagram title: no path separators or control characters, never empty. */
export function fileNameOf(title: string, extension: string): string {
  const printable = Array.from(title, (ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? " " : ch)).join("");
  const base =
    printable
      .replace(/[/\\:*?"<>|]+/g, " ")
      .trim()
      .slice(0, 120) || "diagram";
  return `${base}.${extension}`;
}
