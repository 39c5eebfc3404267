import { useQuery } from "@tanstack/react-query";

export interface Features {
  schedules: boolean;
  notifications: boolean;
  alerts: boolean;
}

/**
 * The scheduler's API (issue 12) may not be in this server yet: its pages show only when the
 * server's OpenAPI document lists their routes.
 */
export function useFeatures(): Features {
  const { data } = useQuery({
    queryKey: ["features"],
    queryFn: async (): Promise<Features> => {
      const response = await fetch("/api/openapi.json", { credentials: "same-origin" });
      if (!response.ok) return { schedules: false, notifications: false, alerts: false };
      const doc = (await response.json()) as { paths?: Record<string, unknown> };
      const paths = Object.keys(doc.paths ?? {});
      return {
        schedules: paths.includes("/api/schedules"),
        notifications: paths.includes("/api/notifications"),
        alerts: paths.includes("/api/alerts"),
      };
    },
    staleTime: Number.POSITIVE_INFINITY,
  });
  return data ?? { schedules: false, notifications: false, alerts: false };
}
