import { PageContainer, PageHeader } from "../components/layout.tsx";

export function ProjectSettingsPage() {
  return (
    <PageContainer>
      <PageHeader title="Project settings" />
    </PageContainer>
  );
}
