import { useQuery } from "@tanstack/react-query";
import { ApiError, api } from "./api.ts";
import type { Me } from "./types.ts";

/** Who is signed in: the user, or null when there is no session (401). */
export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: async (): Promise<Me | null> => {
      try {
        const body = await api.get<Me | { user: Me }>("/api/auth/me");
        return "user" in body ? body.user : body;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

export function useIsAdmin(): boolean {
  return useMe().data?.role === "admin";
}
