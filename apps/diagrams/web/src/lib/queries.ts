/**
 * @module lib/queries
 * React Query hooks over lib/api.ts, one per read or change the screens need. Query keys start with
 * the resource (`["diagrams", …]`, `["projects", …]`) so a change invalidates every list it touches
 * with one `invalidateQueries({ queryKey: ["diagrams"] })`. Lists are cursor-paged with the
 * service's own `next_cursor` (useInfiniteQuery) and never carry XML; only `useDiagram` reads XML.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import {
  ApiError,
  type Attachment,
  type AuthAnswer,
  type AuthConfig,
  api,
  apiFetch,
  type Collaborator,
  type Diagram,
  type DiagramMeta,
  type Invitation,
  type Page,
  type Profile,
  type Project,
  type ProjectBackup,
  type ReceivedInvitation,
  type RestoredProject,
  type Role,
  type Usage,
  withQuery,
} from "./api.ts";
import { clearSession, jwtExpiry, saveSession, useSession } from "./session.ts";

export const PAGE_SIZE = 20;

// ── Session ─────────────────────────────────────────────────────────────────────────────────────

export function useAuthConfig() {
  return useQuery({
    queryKey: ["auth-config"],
    queryFn: () => api.get<AuthConfig>("/auth/config", { anonymous: true }),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

/** The signed-in user's profile (null when signed out). */
export function useMe() {
  const session = useSession();
  return useQuery({
    queryKey: ["me", session?.accessToken ?? null],
    queryFn: async (): Promise<Profile | null> => (await api.get<{ user: Profile }>("/auth/me")).user,
    enabled: session !== null,
    staleTime: 60_000,
  });
}

/** Local sign-in (`mode: "login"`) or sign-up (`"signup"`): keeps the token and resets cached data. */
export function useLocalAuth(mode: "login" | "signup") {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; password: string }) => api.post<AuthAnswer>(`/auth/${mode}`, body, { anonymous: true }),
    onSuccess: (answer) => {
      queryClient.clear();
      const expires = typeof answer.expires_at === "number" ? answer.expires_at : Date.parse(answer.expires_at);
      saveSession({
        accessToken: answer.access_token,
        expiresAt: Number.isFinite(expires) ? (expires < 1e12 ? expires * 1000 : expires) : jwtExpiry(answer.access_token),
        source: "local",
      });
    },
  });
}

/** A token from Supabase (or any issuer the service trusts): checked with GET /auth/me before it is kept. */
export function usePastedToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (token: string) => {
      const { user } = await api.get<{ user: Profile }>("/auth/me", {
        anonymous: true,
        headers: { Authorization: `Bearer ${token}` },
      });
      return { token, user };
    },
    onSuccess: ({ token }) => {
      queryClient.clear();
      saveSession({ accessToken: token, expiresAt: jwtExpiry(token), source: "supabase" });
    },
  });
}

export function useSignOut() {
  const queryClient = useQueryClient();
  return () => {
    clearSession(true);
    queryClient.clear();
  };
}

// ── Projects ────────────────────────────────────────────────────────────────────────────────────

export function useProjects(scope: "owned" | "shared") {
  return useInfiniteQuery({
    queryKey: ["projects", "list", scope],
    queryFn: ({ pageParam }) => api.get<Page<Project>>(withQuery("/projects", { scope, limit: PAGE_SIZE, cursor: pageParam })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useProject(projectId: string | undefined) {
  return useQuery({
    queryKey: ["projects", "one", projectId],
    queryFn: async () => (await api.get<{ project: Project }>(`/projects/${projectId}`)).project,
    enabled: Boolean(projectId),
  });
}

export function useCreateProject() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: { name: string; description?: string | null }) =>
      (await api.post<{ project: Project }>("/projects", body)).project,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["projects"] }),
  });
}

export function useUpdateProject(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (patch: Partial<Pick<Project, "name" | "description" | "is_public">>) =>
      (await api.patch<{ project: Project }>(`/projects/${projectId}`, patch)).project,
    onSuccess: (project) => {
      queryClient.setQueryData(["projects", "one", projectId], project);
      void queryClient.invalidateQueries({ queryKey: ["projects", "list"] });
    },
  });
}

// ── Diagrams ────────────────────────────────────────────────────────────────────────────────────

export interface DiagramListFilter {
  /** A project's diagrams; undefined = the personal space (no project). */
  projectId?: string | undefined;
  /** Title search (every diagram the caller owns or collaborates on, or within `projectId`). */
  q?: string | undefined;
}

export function useDiagrams(filter: DiagramListFilter, enabled = true) {
  const q = filter.q?.trim() || undefined;
  return useInfiniteQuery({
    queryKey: ["diagrams", "list", filter.projectId ?? "personal", q ?? ""],
    queryFn: ({ pageParam, signal }) =>
      api.get<Page<DiagramMeta>>(
        withQuery("/diagrams", { project_id: filter.projectId, q, limit: PAGE_SIZE, cursor: pageParam }),
        { signal },
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled,
  });
}

/** One diagram with its XML (the modeler's read). */
export function useDiagram(diagramId: string | undefined) {
  return useQuery({
    queryKey: ["diagrams", "one", diagramId],
    queryFn: async () => (await api.get<{ diagram: Diagram }>(`/diagrams/${diagramId}`)).diagram,
    enabled: Boolean(diagramId),
    // The modeler owns the document once loaded: a background refetch must not replace it.
    refetchOnWindowFocus: false,
  });
}

export function useCreateDiagram() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: { title?: string; project_id?: string | null; bpmn_xml?: string }) =>
      (await api.post<{ diagram: DiagramMeta }>("/diagrams", body)).diagram,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["diagrams"] }),
  });
}

export function useTrashDiagram() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (diagramId: string) => api.delete(`/diagrams/${diagramId}`),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["diagrams"] });
      void queryClient.invalidateQueries({ queryKey: ["usage"] });
    },
  });
}

export function useTrash() {
  const diagrams = useInfiniteQuery({
    queryKey: ["diagrams", "trash"],
    queryFn: ({ pageParam }) => api.get<Page<DiagramMeta>>(withQuery("/diagrams/trash", { limit: PAGE_SIZE, cursor: pageParam })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const projects = useInfiniteQuery({
    queryKey: ["projects", "trash"],
    queryFn: ({ pageParam }) => api.get<Page<Project>>(withQuery("/projects/trash", { limit: PAGE_SIZE, cursor: pageParam })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  return { diagrams, projects };
}

/** Restore from the trash (`kind` says which) or delete for good (`permanent`). */
export function useTrashAction() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ kind, id, action }: { kind: "diagrams" | "projects"; id: string; action: "restore" | "purge" }) =>
      action === "restore" ? api.post(`/${kind}/${id}/restore`) : api.delete(`/${kind}/${id}?permanent=true`),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["diagrams"] });
      void queryClient.invalidateQueries({ queryKey: ["projects"] });
      void queryClient.invalidateQueries({ queryKey: ["usage"] });
    },
  });
}

export function useTrashProject() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (projectId: string) => api.delete(`/projects/${projectId}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["projects"] }),
  });
}

/**
 * A diagram's thumbnail as an object URL. The thumbnail route needs the bearer token for private
 * diagrams (an <img src> cannot send it), and answers a redirect to a signed link for rendered ones,
 * which fetch follows. null while loading or when there is none.
 */
export function useThumbnail(url: string | null, visible: boolean): string | null {
  const query = useQuery({
    queryKey: ["thumbnail", url],
    queryFn: async ({ signal }) => {
      try {
        const response = await apiFetch("GET", url!, undefined, { signal, headers: { Accept: "image/*" } });
        return await response.blob();
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    enabled: Boolean(url) && visible,
    staleTime: 60_000,
    retry: false,
  });
  const [objectUrl, setObjectUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!query.data) {
      setObjectUrl(null);
      return;
    }
    const u = URL.createObjectURL(query.data);
    setObjectUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [query.data]);
  return objectUrl;
}

// ── Sharing ─────────────────────────────────────────────────────────────────────────────────────

export function useCollaborators(projectId: string, enabled = true) {
  return useQuery({
    queryKey: ["projects", projectId, "collaborators"],
    queryFn: async () => (await api.get<{ items: Collaborator[] }>(`/projects/${projectId}/collaborators`)).items,
    enabled: enabled && Boolean(projectId),
  });
}

export function useProjectInvitations(projectId: string, enabled: boolean) {
  return useQuery({
    queryKey: ["projects", projectId, "invitations"],
    queryFn: async () => (await api.get<{ items: Invitation[] }>(`/projects/${projectId}/invitations`)).items,
    enabled,
  });
}

export function useInvite(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; role: Role }) => api.post(`/projects/${projectId}/collaborators`, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["projects", projectId] }),
  });
}

export function useProjectMemberAction(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (
      a:
        | { kind: "withdraw"; invitationId: string }
        | { kind: "role"; userId: string; role: Role }
        | { kind: "remove"; userId: string },
    ) =>
      a.kind === "withdraw"
        ? api.delete(`/projects/${projectId}/invitations/${a.invitationId}`)
        : a.kind === "role"
          ? api.put(`/projects/${projectId}/collaborators/${a.userId}`, { role: a.role })
          : api.delete(`/projects/${projectId}/collaborators/${a.userId}`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["projects", projectId] }),
  });
}

export function useReceivedInvitations(enabled = true) {
  return useQuery({
    queryKey: ["invitations"],
    queryFn: async () => (await api.get<{ items: ReceivedInvitation[] }>("/invitations")).items,
    enabled,
  });
}

export function useAnswerInvitation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, accept }: { id: string; accept: boolean }) =>
      accept ? api.post(`/invitations/${id}/accept`) : api.delete(`/invitations/${id}`),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["invitations"] });
      void queryClient.invalidateQueries({ queryKey: ["projects"] });
    },
  });
}

// ── Project files and backups ───────────────────────────────────────────────────────────────────

export function useAttachments(projectId: string) {
  return useQuery({
    queryKey: ["projects", projectId, "attachments"],
    queryFn: async () => (await api.get<{ attachments: Attachment[] }>(`/projects/${projectId}/attachments`)).attachments,
  });
}

export function useUploadAttachments(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (files: File[]) => {
      const form = new FormData();
      for (const f of files) form.append("file", f, f.name);
      return api.post<{ attachments: Attachment[] }>(`/projects/${projectId}/attachments`, form);
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "attachments"] });
      void queryClient.invalidateQueries({ queryKey: ["usage"] });
    },
  });
}

export function useAttachmentAction(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, action }: { id: string; action: "link" | "delete" }) => {
      if (action === "delete") {
        await api.delete(`/projects/${projectId}/attachments/${id}`);
        return null;
      }
      return (await api.get<{ attachment: Attachment }>(`/projects/${projectId}/attachments/${id}`)).attachment;
    },
    onSuccess: (_r, v) => {
      if (v.action === "delete") void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "attachments"] });
    },
  });
}

export function useProjectBackups(projectId: string, enabled: boolean) {
  return useQuery({
    queryKey: ["projects", projectId, "backups"],
    queryFn: async () => (await api.get<{ backups: ProjectBackup[] }>(`/projects/${projectId}/backups`)).backups,
    enabled,
  });
}

export function useCreateBackup(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => (await api.post<{ backup: ProjectBackup }>(`/projects/${projectId}/backups`)).backup,
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "backups"] });
      void queryClient.invalidateQueries({ queryKey: ["usage"] });
    },
  });
}

export function useRestoreBackup(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (backupId: string) => api.post<RestoredProject>(`/projects/${projectId}/backups/${backupId}/restore`),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["projects"] });
      void queryClient.invalidateQueries({ queryKey: ["usage"] });
    },
  });
}

// ── Plan ────────────────────────────────────────────────────────────────────────────────────────

export function useUsage() {
  return useQuery({ queryKey: ["usage"], queryFn: () => api.get<Usage>("/usage") });
}
