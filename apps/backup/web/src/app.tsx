import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { Layout, Skeleton } from "./components/layout.tsx";
import { setUnauthorizedHandler } from "./lib/api.ts";
import { useMe } from "./lib/session.ts";
import { AlertsPage } from "./pages/alerts.tsx";
import { LoginPage, SetupPage } from "./pages/auth.tsx";
import { BackupDetailPage } from "./pages/backup-detail.tsx";
import { BackupsPage } from "./pages/backups.tsx";
import { DashboardPage } from "./pages/dashboard.tsx";
import { DestinationsPage } from "./pages/destinations.tsx";
import { ManualBackupPage } from "./pages/manual-backup.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";
import { NotificationsPage } from "./pages/notifications.tsx";
import { ProjectsPage } from "./pages/projects.tsx";
import { SchedulesPage } from "./pages/schedules.tsx";
import { TokensPage } from "./pages/tokens.tsx";
import { UsersPage } from "./pages/users.tsx";

function useSessionExpiry() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      if (location.pathname === "/login" || location.pathname === "/setup") return;
      queryClient.setQueryData(["me"], null);
      navigate("/login", { replace: true, state: { from: location.pathname + location.search } });
    });
  }, [queryClient, navigate, location]);
}

function SignedIn() {
  return (
    <Layout>
      <Routes>
        <Route path="/" element={<DashboardPage />} />
        <Route path="/projects" element={<ProjectsPage />} />
        <Route path="/destinations" element={<DestinationsPage />} />
        <Route path="/backups" element={<BackupsPage />} />
        <Route path="/backups/new" element={<ManualBackupPage />} />
        <Route path="/backups/:id" element={<BackupDetailPage />} />
        <Route path="/schedules" element={<SchedulesPage />} />
        <Route path="/alerts" element={<AlertsPage />} />
        <Route path="/notifications" element={<NotificationsPage />} />
        <Route path="/tokens" element={<TokensPage />} />
        <Route path="/users" element={<UsersPage />} />
        <Route path="/login" element={<Navigate to="/" replace />} />
        <Route path="/setup" element={<Navigate to="/" replace />} />
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </Layout>
  );
}

export function App() {
  const me = useMe();
  const location = useLocation();
  useSessionExpiry();

  if (me.isPending) {
    return (
      <div className="mx-auto grid max-w-md gap-3 p-6 pt-24" aria-busy="true">
        <span className="sr-only" role="status">
          Loading
        </span>
        <Skeleton className="h-8 w-40" />
        <Skeleton className="h-56 w-full" />
      </div>
    );
  }
  if (!me.data) {
    return (
      <Routes>
        <Route path="/setup" element={<SetupPage />} />
        <Route path="/login" element={<LoginPage />} />
        <Route path="*" element={<Navigate to="/login" replace state={{ from: location.pathname + location.search }} />} />
      </Routes>
    );
  }
  return <SignedIn />;
}
