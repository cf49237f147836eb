export interface Identity { guid: string }
