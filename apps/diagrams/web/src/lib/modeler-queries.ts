/**
 * @module lib/modeler-queries
 * What the modeler, history and import screens ask of the service: saves with optimistic concurrency,
 * drafts, versions, diffs, version restores and exports. Keys sit under `["diagrams", id, …]` so that
 * the shell's invalidation of `["diagrams"]` after any change reaches them too.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
// The service's own types (`import type` is erased: no server code in the bundle).
import type { SavedVersion, VersionMeta } from "../../../src/repo/versions.ts";
import { ApiError, api, apiFetch, withQuery } from "./api.ts";

export type { SavedVersion, VersionMeta };

export interface Draft {
  bpmn_xml: string;
  base_version: number | null;
  saved_at: string;
}

export interface Version extends VersionMeta {
  bpmn_xml: string;
}

/** The service's semantic diff (bpmn-js-differ): the elements added, removed, changed and moved. */
export interface DiffEntry {
  id: string;
  type: string;
}

export interface DiagramDiff {
  from: number;
  to: number;
  added: DiffEntry[];
  removed: DiffEntry[];
  changed: (DiffEntry & { attrs: Record<string, { old: unknown; new: unknown }> })[];
  layout_changed: DiffEntry[];
}

export type ExportFormat = "xml" | "png" | "svg" | "pdf";

/** A save of new content on top of `base_version`; a 409 STALE_VERSION carries `details.current_version`. */
export function saveContent(diagramId: string, body: { bpmn_xml: string; base_version: number; message?: string | null }) {
  return api.put<SavedVersion>(`/diagrams/${diagramId}/content`, body);
}

/** The stored draft, or null when there is none (404). */
export async function fetchDraft(diagramId: string): Promise<Draft | null> {
  try {
    return (await api.get<{ draft: Draft }>(`/diagrams/${diagramId}/draft`)).draft;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export function putDraft(diagramId: string, body: { bpmn_xml: string; base_version: number }) {
  return api.put<{ saved_at: string; expires_in: number }>(`/diagrams/${diagramId}/draft`, body);
}

export function deleteDraft(diagramId: string) {
  return api.delete(`/diagrams/${diagramId}/draft`);
}

export function useVersions(diagramId: string) {
  return useInfiniteQuery({
    queryKey: ["diagrams", diagramId, "versions"],
    queryFn: ({ pageParam }) =>
      api.get<{ items: VersionMeta[]; next_cursor: string | null }>(
        withQuery(`/diagrams/${diagramId}/versions`, { limit: 20, cursor: pageParam }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useVersion(diagramId: string, version: number | undefined) {
  return useQuery({
    queryKey: ["diagrams", diagramId, "versions", version],
    queryFn: async () => (await api.get<{ version: Version }>(`/diagrams/${diagramId}/versions/${version}`)).version,
    enabled: version !== undefined,
    staleTime: Number.POSITIVE_INFINITY, // a version never changes
  });
}

export function useDiff(diagramId: string, from: number | undefined, to: number | undefined) {
  return useQuery({
    queryKey: ["diagrams", diagramId, "diff", from, to],
    queryFn: () => api.get<DiagramDiff>(withQuery(`/diagrams/${diagramId}/diff`, { from, to })),
    enabled: from !== undefined && to !== undefined && from !== to,
    staleTime: Number.POSITIVE_INFINITY,
  });
}

export function useRestoreVersion(diagramId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (version: number) =>
      api.post<SavedVersion & { restored_from: number }>(`/diagrams/${diagramId}/versions/${version}/restore`, {}),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["diagrams"] }),
  });
}

/**
 * The file of an export: XML straight from the diagram (the last saved version), the others rendered
 * by the service into object storage and fetched from the link it answers (same origin: a public
 * object or a signed URL).
 */
export async function exportFile(diagramId: string, format: ExportFormat): Promise<Blob> {
  if (format === "xml") {
    const response = await apiFetch("GET", withQuery(`/diagrams/${diagramId}`, { format: "xml" }), undefined, {
      headers: { Accept: "application/xml" },
    });
    return response.blob();
  }
  const link = await api.post<{ url: string }>(`/diagrams/${diagramId}/exports`, { format });
  const response = await apiFetch("GET", link.url);
  return response.blob();
}
