/**
 * @module objects/buckets
 * The seed's two buckets over @stowage/storage: `public` and `private` are prefixes of one
 * destination (`DIAGRAMS_STORAGE_URL`), or the public bucket is its own destination
 * (`DIAGRAMS_PUBLIC_STORAGE_URL`, e.g. a bucket behind a CDN).
 */
import { createDestination, parseDestinationUrl, type StorageDestination } from "@stowage/storage";
import type { Bucket } from "./paths.ts";

export type Buckets = Readonly<Record<Bucket, StorageDestination>>;

/** `url` with `/segment` appended to its path: file:///d/objects → file:///d/objects/public; s3://b/p → s3://b/p/public. */
export function childUrl(url: string, segment: string): string {
  if (url.startsWith("/")) return `${url.replace(/\/+$/, "")}/${segment}`;
  const u = new URL(url);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/${segment}`;
  return u.toString();
}

export async function openBuckets(storageUrl: string, publicStorageUrl?: string): Promise<Buckets> {
  const open = (url: string) => createDestination(parseDestinationUrl(url));
  const [publicBucket, privateBucket] = await Promise.all([
    open(publicStorageUrl ?? childUrl(storageUrl, "public")),
    open(childUrl(storageUrl, "private")),
  ]);
  return { public: publicBucket, private: privateBucket };
}

export async function closeBuckets(buckets: Buckets): Promise<void> {
  await Promise.allSettled([buckets.public.close(), buckets.private.close()]);
}
