import { useQuery } from "@tanstack/react-query";
import { api } from "./api.ts";
import type { Destination, Project } from "./types.ts";

/** Lists answer either a bare array or `{ items }`; the UI takes both. */
export function itemsOf<T>(body: T[] | { items: T[] } | Record<string, unknown>): T[] {
  if (Array.isArray(body)) return body;
  for (const key of ["items", "data", "projects", "destinations", "backups", "tokens", "users", "schedules"]) {
    const v = (body as Record<string, unknown>)[key];
    if (Array.isArray(v)) return v as T[];
  }
  return [];
}

export function useProjects() {
  return useQuery({
    queryKey: ["projects"],
    queryFn: async () => itemsOf<Project>(await api.get("/api/projects")),
  });
}

export function useDestinations() {
  return useQuery({
    queryKey: ["destinations"],
    queryFn: async () => itemsOf<Destination>(await api.get("/api/destinations")),
  });
}
