import { PageContainer, PageHeader } from "../components/layout.tsx";

export function TrashPage() {
  return (
    <PageContainer>
      <PageHeader title="Trash" />
    </PageContainer>
  );
}
