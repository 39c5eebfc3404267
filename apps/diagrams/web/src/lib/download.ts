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
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const base =
    title
      .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, " ")
      .trim()
      .slice(0, 120) || "diagram";
  return `${base}.${extension}`;
}
