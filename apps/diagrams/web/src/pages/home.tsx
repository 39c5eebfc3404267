import { PageContainer, PageHeader } from "../components/layout.tsx";

export function HomePage() {
  return (
    <PageContainer>
      <PageHeader title="Home" />
    </PageContainer>
  );
}
