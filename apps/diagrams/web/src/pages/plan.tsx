import { PageContainer, PageHeader } from "../components/layout.tsx";

export function PlanPage() {
  return (
    <PageContainer>
      <PageHeader title="Plan and storage" />
    </PageContainer>
  );
}
