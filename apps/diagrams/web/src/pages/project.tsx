import { PageContainer, PageHeader } from "../components/layout.tsx";

export function ProjectPage() {
  return (
    <PageContainer>
      <PageHeader title="Project" />
    </PageContainer>
  );
}
