/**
 * @module app
 * The route table. Signed out: /signin and /signup (every other path comes back to its page after
 * signing in). Signed in, inside the shell (components/layout.tsx):
 *   /                      Home: personal space, projects, search (pages/home.tsx)
 *   /p/:projectId          a project's diagrams (pages/project.tsx)
 *   /p/:projectId/settings project settings, sharing, attachments, backups (pages/project-settings.tsx)
 *   /trash                 trash with restore (pages/trash.tsx)
 *   /plan                  plan and storage use (pages/plan.tsx)
 *   /d/:diagramId          the modeler (pages/modeler.tsx)
 *   /d/:diagramId/history  history and compare (pages/history.tsx)
 *   /import                import of .bpmn files (pages/import.tsx)
 * Client paths never start with an API prefix (/auth, /projects, /diagrams, …): the server sends
 * those to the API and everything else to this app (src/http/web-app.ts).
 */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { Layout } from "./components/layout.tsx";
import { setUnauthorizedHandler } from "./lib/api.ts";
import { useSession, wasSignedOutOnPurpose } from "./lib/session.ts";
import { SignInPage, SignUpPage } from "./pages/auth.tsx";
import { HistoryPage } from "./pages/history.tsx";
import { HomePage } from "./pages/home.tsx";
import { ImportPage } from "./pages/import.tsx";
import { ModelerPage } from "./pages/modeler.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";
import { PlanPage } from "./pages/plan.tsx";
import { ProjectPage } from "./pages/project.tsx";
import { ProjectSettingsPage } from "./pages/project-settings.tsx";
import { TrashPage } from "./pages/trash.tsx";

function useSessionExpiry() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      queryClient.clear();
      navigate("/signin", { replace: true, state: { from: location.pathname + location.search } });
    });
    return () => setUnauthorizedHandler(null);
  }, [queryClient, navigate, location]);
}

export function App() {
  const session = useSession();
  const location = useLocation();
  useSessionExpiry();

  if (!session) {
    return (
      <Routes>
        <Route path="/signin" element={<SignInPage />} />
        <Route path="/signup" element={<SignUpPage />} />
        <Route
          path="*"
          element={
            <Navigate
              to="/signin"
              replace
              state={wasSignedOutOnPurpose() ? null : { from: location.pathname + location.search }}
            />
          }
        />
      </Routes>
    );
  }
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<HomePage />} />
        <Route path="p/:projectId" element={<ProjectPage />} />
        <Route path="p/:projectId/settings" element={<ProjectSettingsPage />} />
        <Route path="trash" element={<TrashPage />} />
        <Route path="plan" element={<PlanPage />} />
        <Route path="d/:diagramId" element={<ModelerPage />} />
        <Route path="d/:diagramId/history" element={<HistoryPage />} />
        <Route path="import" element={<ImportPage />} />
        <Route path="signin" element={<Navigate to={(location.state as { from?: string } | null)?.from ?? "/"} replace />} />
        <Route path="signup" element={<Navigate to="/" replace />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
