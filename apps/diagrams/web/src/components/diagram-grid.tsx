/**
 * @module components/diagram-grid
 * Diagram cards (thumbnail, title, updated time, version) in a responsive grid, fed by a cursor-paged
 * list: the next page loads when the end of the grid scrolls into view, and a "Load more" button does
 * the same for keyboard and screen-reader users. Thumbnails load only once their card is near the
 * viewport. Lists carry metadata only; the XML is read when a diagram is opened.
 */
import type { InfiniteData, UseInfiniteQueryResult } from "@tanstack/react-query";
import { FileText, History, Trash2 } from "lucide-react";
import { type ReactNode, useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { toast } from "sonner";
import type { DiagramMeta, Page } from "../lib/api.ts";
import { messageOf } from "../lib/api.ts";
import { formatDateTime, timeAgo } from "../lib/format.ts";
import { useThumbnail, useTrashDiagram } from "../lib/queries.ts";
import { EmptyState, ErrorState, Loading, Skeleton } from "./layout.tsx";
import { Button } from "./ui.ts";

/** True once the element has come near the viewport (and stays true). */
export function useNearViewport<T extends Element>(margin = "200px"): [React.RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || seen) return;
    if (typeof IntersectionObserver === "undefined") {
      setSeen(true);
      return;
    }
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setSeen(true);
      },
      { rootMargin: margin },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [seen, margin]);
  return [ref, seen];
}

function Thumbnail({ diagram }: { diagram: DiagramMeta }) {
  const [ref, near] = useNearViewport<HTMLDivElement>();
  const src = useThumbnail(diagram.thumbnail_url, near);
  return (
    <div ref={ref} className="flex aspect-[4/3] items-center justify-center overflow-hidden rounded-t-xl border-b bg-white">
      {src ? (
        <img src={src} alt="" className="size-full object-contain p-2" />
      ) : (
        <FileText className="size-10 text-neutral-300" aria-hidden />
      )}
    </div>
  );
}

export function DiagramCard({ diagram, canTrash }: { diagram: DiagramMeta; canTrash: boolean }) {
  const trash = useTrashDiagram();
  return (
    <li className="group relative flex flex-col rounded-xl border bg-card text-card-foreground shadow-xs transition-shadow focus-within:ring-2 focus-within:ring-ring hover:shadow-md">
      <Thumbnail diagram={diagram} />
      <div className="grid min-w-0 flex-1 grid-cols-[minmax(0,1fr)] content-start gap-0.5 p-3 pb-2">
        <h3 className="truncate font-medium" title={diagram.title}>
          <Link to={`/d/${diagram.id}`} className="outline-none after:absolute after:inset-0 after:rounded-xl">
            {diagram.title}
          </Link>
        </h3>
        <div className="flex items-center justify-between gap-1">
          <p className="min-w-0 truncate text-xs text-muted-foreground">
            <time dateTime={diagram.updated_at} title={`Updated ${formatDateTime(diagram.updated_at)}`}>
              {timeAgo(diagram.updated_at, Date.now(), "short")}
            </time>{" "}
            · v{diagram.version}
          </p>
          <div className="relative z-10 -mr-1 flex shrink-0">
            <Button
              asChild
              variant="ghost"
              size="icon"
              className="size-7"
              aria-label={`History of ${diagram.title}`}
              title="History"
            >
              <Link to={`/d/${diagram.id}/history`}>
                <History aria-hidden />
              </Link>
            </Button>
            {canTrash ? (
              <Button
                variant="ghost"
                size="icon"
                className="size-7"
                aria-label={`Move ${diagram.title} to the trash`}
                title="Move to the trash"
                pending={trash.isPending}
                onClick={() =>
                  trash.mutate(diagram.id, {
                    onSuccess: () => toast.success(`“${diagram.title}” moved to the trash`),
                    onError: (e) => toast.error(messageOf(e)),
                  })
                }
              >
                {trash.isPending ? null : <Trash2 aria-hidden />}
              </Button>
            ) : null}
          </div>
        </div>
      </div>
    </li>
  );
}

/** Calls `onVisible` whenever the sentinel scrolls into view (infinite lists). */
function Sentinel({ onVisible }: { onVisible: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const callback = useRef(onVisible);
  callback.current = onVisible;
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === "undefined") return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) callback.current();
      },
      { rootMargin: "400px" },
    );
    io.observe(el);
    return () => io.disconnect();
  }, []);
  return <div ref={ref} aria-hidden className="h-px" />;
}

type PagedQuery<T> = UseInfiniteQueryResult<InfiniteData<Page<T>>>;

/** Items of a cursor-paged list with skeletons, the error, the empty state and the next page on scroll. */
export function PagedList<T>({
  query,
  label,
  empty,
  renderItems,
  skeleton,
}: {
  query: PagedQuery<T>;
  label: string;
  empty: ReactNode;
  renderItems: (items: T[]) => ReactNode;
  skeleton: ReactNode;
}) {
  if (query.isPending) return <Loading label={`Loading ${label}`}>{skeleton}</Loading>;
  if (query.error && !query.data) return <ErrorState error={query.error} onRetry={() => query.refetch()} />;
  const items = query.data?.pages.flatMap((p) => p.items) ?? [];
  if (items.length === 0) return <>{empty}</>;
  const more = () => {
    if (query.hasNextPage && !query.isFetchingNextPage) void query.fetchNextPage();
  };
  return (
    <div className="grid gap-3">
      {renderItems(items)}
      {query.error ? <ErrorState error={query.error} onRetry={more} /> : null}
      {query.hasNextPage ? (
        <>
          <Sentinel onVisible={more} />
          <div className="flex justify-center">
            <Button variant="outline" onClick={more} pending={query.isFetchingNextPage}>
              Load more {label}
            </Button>
          </div>
        </>
      ) : null}
    </div>
  );
}

export function DiagramGrid({
  query,
  label,
  canTrash,
  emptyTitle,
  emptyHint,
}: {
  query: PagedQuery<DiagramMeta>;
  label: string;
  canTrash: boolean;
  emptyTitle: string;
  emptyHint?: ReactNode;
}) {
  return (
    <PagedList
      query={query}
      label={label}
      skeleton={
        <div className="grid grid-cols-[repeat(auto-fill,minmax(9.5rem,1fr))] sm:grid-cols-[repeat(auto-fill,minmax(12rem,1fr))] gap-3">
          {[0, 1, 2, 3].map((i) => (
            <Skeleton key={i} className="aspect-square w-full rounded-xl" />
          ))}
        </div>
      }
      empty={
        <EmptyState icon={FileText} title={emptyTitle}>
          {emptyHint}
        </EmptyState>
      }
      renderItems={(items) => (
        <ul
          aria-label={label}
          className="grid grid-cols-[repeat(auto-fill,minmax(9.5rem,1fr))] sm:grid-cols-[repeat(auto-fill,minmax(12rem,1fr))] gap-3"
        >
          {items.map((d) => (
            <DiagramCard key={d.id} diagram={d} canTrash={canTrash} />
          ))}
        </ul>
      )}
    />
  );
}
