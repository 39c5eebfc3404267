import { Search, X } from "lucide-react";
import { useEffect, useId, useState } from "react";
import { Button, Input } from "./ui.ts";

/** A labelled search field that reports its value 300 ms after the last keystroke (its own clear button, not the browser's). */
export function SearchBox({ label, onSearch }: { label: string; onSearch: (q: string) => void }) {
  const id = useId();
  const [value, setValue] = useState("");
  useEffect(() => {
    const t = setTimeout(() => onSearch(value.trim()), 300);
    return () => clearTimeout(t);
  }, [value, onSearch]);
  return (
    <search className="relative block w-full sm:max-w-sm">
      <label htmlFor={id} className="sr-only">
        {label}
      </label>
      <Search className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-muted-foreground" aria-hidden />
      <Input
        id={id}
        type="search"
        placeholder={label}
        className="pr-9 pl-9 [&::-webkit-search-cancel-button]:appearance-none"
        value={value}
        maxLength={200}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") setValue("");
        }}
      />
      {value ? (
        <Button
          variant="ghost"
          size="icon"
          className="absolute top-1/2 right-0.5 size-8 -translate-y-1/2"
          aria-label="Clear the search"
          onClick={() => setValue("")}
        >
          <X aria-hidden />
        </Button>
      ) : null}
    </search>
  );
}
